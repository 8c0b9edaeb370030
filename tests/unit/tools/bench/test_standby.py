"""The standby measurement's reading of Faust's recovery log tables."""

from __future__ import annotations

import pytest
from faust.utils import terminal

from streams.tools.bench.standby import log_tables, replayed_records

pytestmark = pytest.mark.unit

TOPIC = "bench-x-rebate-state-changelog"


def table(title: str, rows: dict[int, int], head: str) -> str:
    data = [[TOPIC if i == 0 else "〃", str(p), str(v)] for i, (p, v) in enumerate(rows.items())]
    return terminal.logtable(data, title=title, headers=["topic", "partition", head])


def recovery(starts: dict[int, int], highs: dict[int, int]) -> str:
    return "\n".join(
        [
            "[INFO] Highwater for active changelog partitions:",
            table("Highwater - Active", highs, "highwater"),
            "[INFO] active offsets at start of reading:",
            table("Reading Starts At - Active", starts, "offset"),
            "[INFO] Restoring state from changelog topics...",
        ]
    )


def test_faust_log_tables_are_read_with_their_ditto_marks() -> None:
    log = recovery({0: 4, 3: -1}, {0: 10, 3: 7})
    (starts,) = log_tables(log, "Reading Starts At - Active")
    assert starts == {(TOPIC, 0): 4, (TOPIC, 3): -1}


def test_replayed_records_are_those_of_the_last_recovery() -> None:
    first = recovery({0: -1}, {0: 100})
    last = recovery({0: 90, 1: 50, 2: 20}, {0: 100, 1: 50, 2: 19})
    # partition 0: offsets 91..100; 1: none; 2: start past the highwater (nothing to read)
    assert replayed_records(first + "\n[INFO] ok\n" + last) == 10
    assert replayed_records("[INFO] no recovery logged") == 0
