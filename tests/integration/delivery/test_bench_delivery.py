"""The delivery benchmark stage runs end to end on a small feed: every entry reaches
PostgreSQL, and the report has the three rows (no figure is asserted: the machine is
shared)."""

from __future__ import annotations

import pytest

from streams.settings import Settings
from streams.tools.bench.delivery import report, run

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
