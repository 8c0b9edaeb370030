"""The benchmark's verdicts and report: what is met, what is missed and by how much."""

from __future__ import annotations

import pytest

from streams.tools.bench import report as r

pytestmark = pytest.mark.unit


def test_higher_is_better_target_met_and_missed() -> None:
    met = r.Target("throughput", 60_000, 50_000, "lines/s")
    assert met.met is True and met.shortfall is None
    assert met.verdict().startswith("met target throughput")
    missed = r.Target("throughput", 400, 50_000, "lines/s")
    assert missed.met is False
    assert missed.shortfall == pytest.approx(125.0)
    assert missed.verdict() == (
        "MISSED target throughput (>= 50,000 lines/s): measured 400 lines/s (125.0x short)"
    )


def test_lower_is_better_target() -> None:
    assert r.Target("rss", 250, 300, "MB", higher_is_better=False).met is True
    missed = r.Target("p99", 2.5, 1.0, "s", higher_is_better=False)
    assert missed.met is False and missed.shortfall == pytest.approx(2.5)
    assert "MISSED target p99 (< 1.00 s): measured 2.50 s (2.50x short)" in missed.verdict()
    assert r.Target("rss", 300, 300, "MB", higher_is_better=False).met is False


def test_unmeasured_and_zero() -> None:
    assert r.Target("x", None, 1, "x").verdict().startswith("NOT MEASURED target x")
    assert "(infx short)" in r.Target("x", 0, 1, "x").verdict()


def test_ratio_and_percentile() -> None:
    assert r.ratio(10, 40) == 0.25
    assert r.ratio(None, 1) is None and r.ratio(1, 0) is None
    values = [float(v) for v in range(1, 101)]
    assert r.percentile(values, 50) == 50
    assert r.percentile(values, 99) == 99
    assert r.percentile(values, 100) == 100
    assert r.percentile([3.0], 99) == 3.0
    assert r.percentile([], 50) is None


def test_report_fails_on_wrong_totals_whatever_the_speed() -> None:
    report = r.Report("bench")
    report.add("ours", "end to end", "1,000,000 lines/s")
    report.check("ours", True, "equal")
    assert not report.failed
    report.check("quix", False, "AG-1/2026-01: ledger 1.00, reference 2.00")
    assert report.failed
    text = report.render()
    assert "FAIL quix: AG-1/2026-01" in text
    assert text.endswith("== result: FAILED (a totals check failed) ==")


def test_an_inclusive_target_is_met_on_its_threshold_and_says_by_how_much_it_is_missed() -> None:
    on = r.Target("overhead", 1.3, 1.3, "x", higher_is_better=False, inclusive=True)
    assert on.met is True
    assert on.verdict() == "met target overhead (<= 1.30 x): measured 1.30 x"
    missed = r.Target("overhead", 1.43, 1.3, "x", higher_is_better=False, inclusive=True)
    assert missed.met is False
    assert missed.verdict() == "MISSED target overhead (<= 1.30 x): measured 1.43 x (1.10x short)"


def test_the_comparisons_print_the_fair_ratios_and_their_targets() -> None:
    report = r.Report("bench")
    r.add_comparisons(report, r.Figures(
        ours_rate=2_000, ours_cpu_rate=2_500, ours_us=400.0, ours_us_steady=300.0,
        bare_us=250.0, quix_rate=1_800, quix_cpu_rate=3_000, quix_us=333.3,
        raw_rate=100_000, raw_cpu_rate=100_000, records_cpu_rate=1_500, records_us=600.0,
        bare_records_us=300.0, two_rate=3_000, two_cpu_rate=2_000,
    ))  # fmt: skip
    rows = dict(report.sections["ratios"])
    assert rows["worker overhead factor: worker CPU per line / bare CPU per line"] == (
        "1.600x (400.0 us / 250.0 us)"
    )
    assert rows["worker overhead factor, start-up and shutdown excluded (not the target's "
                "figure)"] == "1.200x (300.0 us / 250.0 us)"  # fmt: skip
    assert rows["worker overhead factor, one line per message"] == "2.000x (600.0 us / 300.0 us)"
    assert rows["quixstreams overhead factor: its CPU per line / bare CPU per line, one per "
                "message"] == "1.111x (333.3 us / 300.0 us)"  # fmt: skip
    assert rows[f"per CPU-second: ours / quixstreams ({r.INGEST_NOTE})"] == "0.833x"
    assert rows["per CPU-second: ours / quixstreams, both reading per-record messages"] == (
        "0.500x"
    )
    assert rows["I/O floor, not a target: ours / raw pass-through"] == "0.020x"
    assert rows["scaling per CPU-second: 2 workers / 1 worker"] == "0.800x"
    verdicts = [t.verdict() for t in report.targets]
    assert verdicts == [
        "MISSED target end-to-end throughput per worker (>= 50,000 lines/s): measured "
        "2,000 lines/s (25.0x short)",
        "MISSED target worker CPU per POS line (<= 20.00 us): measured 400 us (20.0x short) "
        "[relay process and start-up included]",
        "MISSED target worker overhead over the bare computation (<= 1.30 x): measured "
        "1.60 x (1.23x short) [worker CPU per line / bare CPU per line]",
        "MISSED target per CPU-second vs quixstreams (>= 3.00 x): measured 0.833 x "
        f"(3.60x short) [{r.INGEST_NOTE}]",
        "MISSED target per CPU-second vs quixstreams, both reading per-record messages "
        "(>= 1.00 x): measured 0.5 x (2.00x short)",
        "MISSED target scaling per CPU-second, 2 workers / 1 (>= 0.9 x): measured 0.8 x "
        "(1.12x short)",
    ]
    assert not any("raw pass-through" in t.name for t in report.targets)  # not a target


def test_unmeasured_comparisons_say_so() -> None:
    report = r.Report("bench")
    r.add_comparisons(report, r.Figures(bare_us=250.0))
    rows = dict(report.sections["ratios"])
    assert rows["worker overhead factor: worker CPU per line / bare CPU per line"] == (
        "n/a (n/a / 250.0 us)"
    )
    assert all(t.verdict().startswith("NOT MEASURED") for t in report.targets)
