"""The delivery benchmark stage runs end to end on a small feed: every entry reaches
PostgreSQL, and the report and `recon bench`'s section have the three rows and the target
(no figure is asserted: the machine is shared)."""

from __future__ import annotations

import pytest

from streams.settings import Settings
from streams.tools.bench.delivery import add_stage, report, run
from streams.tools.bench.report import Report

pytestmark = pytest.mark.integration


def test_the_delivery_benchmark_measures_three_ways(delivery_settings: Settings) -> None:
    results = run(delivery_settings, 3000)
    assert [r.name for r in results] == ["postgres", "erp (local HTTP sink)", "COPY baseline"]
    assert all(r.entries == 3000 and r.seconds > 0 and r.cpu_seconds > 0 for r in results)
    text = report(results)
    print(text)
    assert text.splitlines()[0].split() == [
        "target",
        "entries",
        "entries/s",
        "CPU",
        "us/entry",
        "x",
        "COPY",
    ]
    assert text.splitlines()[-1].endswith("1.00")
    bench = Report("bench")
    add_stage(bench, results)
    rendered = bench.render()
    assert "delivery of 3,000 ledger entries (ledger topic -> target)" in rendered
    assert "target delivery to PostgreSQL / a plain COPY of the same rows (>= 0.5 x)" in rendered
