"""The bare computation baseline: the product's code path over a tiny feed gives exactly
the reference totals, one outcome per record and a DLQ record per bad line."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.tools.bench.bare import BareRun, run_bare
from streams.tools.generate import FeedSpec, write_pos, write_promotions
from streams.tools.references import compare_totals, expected_totals, valid_records

pytestmark = pytest.mark.unit


@pytest.fixture
def feed(tmp_path: Path) -> tuple[Path, Path]:
    spec = FeedSpec(lines=1_500, vendors=6, bad_rate=0.02, seed=11)
    pos, promotions = tmp_path / "pos.csv", tmp_path / "promotions.csv"
    write_pos(pos, spec)
    write_promotions(promotions, spec)
    return pos, promotions


def test_the_bare_computation_equals_the_reference_to_the_cent(feed: tuple[Path, Path]) -> None:
    pos, promotions = feed
    run = run_bare(pos, promotions)
    expected = expected_totals([pos], [promotions])
    assert expected  # the feed posts something
    assert compare_totals(run.totals, expected, "bare") == []
    valid_sales = sum(1 for _ in valid_records(pos, SaleLine))
    valid_agreements = sum(1 for _ in valid_records(promotions, Agreement))
    assert run.lines == 1_500
    assert run.agreements == valid_agreements  # the generated promotions are all valid
    assert run.outputs["outcome"] == run.lines + run.agreements  # one per record read
    assert run.outputs["dlq"] == run.lines - valid_sales > 0  # one per bad line
    assert run.outputs["ledger"] == run.entries > 0  # every entry id built once
    assert run.outputs["agreement"] == run.agreements
    assert run.cpu_seconds > 0 and run.cpu_us_per_line > 0 and run.cpu_rate > 0


def test_repeats_report_the_median_run(feed: tuple[Path, Path]) -> None:
    run = run_bare(*feed, repeats=3)
    assert len(run.cpu_runs) == 3 and run.cpu_runs == sorted(run.cpu_runs)
    assert run.cpu_seconds == run.cpu_runs[1]
    assert compare_totals(run.totals, expected_totals([feed[0]], [feed[1]]), "bare") == []


def test_the_child_result_round_trips(feed: tuple[Path, Path]) -> None:
    run = run_bare(*feed, repeats=2)
    again = BareRun.from_json(run.to_json())
    assert again.cpu_runs == run.cpu_runs
    assert again.totals == run.totals
    assert (again.lines, again.entries, again.outputs) == (run.lines, run.entries, run.outputs)
    assert again.cpu_us_per_line == pytest.approx(run.cpu_us_per_line)
