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
    assert "MISSED target p99 (< 1.00 s): measured 2.50 s (2.5x short)" in missed.verdict()
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
