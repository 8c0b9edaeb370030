"""The dedupe purge: deletes exactly the marks beyond the horizon, in bounded slices, only
on partitions still held; and the Faust adapter over a real RocksDB (rocksdict) store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import rocksdict
from faust.types import TP

from streams.domain.accrual.horizon import DedupeHorizon
from streams.domain.state import encode
from streams.observability.metrics import Metrics
from streams.runtime.state.dedupe_purge import TableMarks, purge_expired

pytestmark = pytest.mark.unit

# purge_before() = 2026-10-24 - 7 days = 2026-10-17
HORIZON = DedupeHorizon(30, lambda: datetime(2026, 11, 23, 12, tzinfo=UTC))


def mark(day: str | None) -> bytes:
    return encode({"o": "r"} if day is None else {"o": "r", "day": day})


class FakeStore:
    """Sorted key ranges per partition; counts scans; can lose a partition mid-walk."""

    def __init__(self, data: dict[int, dict[bytes, bytes]], lose_after_scans: int = 0) -> None:
        self.data = data
        self.scans = 0
        self.lose_after_scans = lose_after_scans
        self.deleted: list[tuple[int, bytes]] = []

    def partitions(self) -> list[int]:
        return sorted(self.data)

    def scan(self, partition: int, start: bytes, limit: int) -> list[tuple[bytes, bytes]] | None:
        self.scans += 1
        if self.lose_after_scans and self.scans > self.lose_after_scans:
            self.data.pop(partition, None)
        if partition not in self.data:
            return None
        keys = sorted(k for k in self.data[partition] if k >= start and k.startswith(b"d:"))
        return [(k, self.data[partition][k]) for k in keys[:limit]]

    def delete(self, partition: int, keys: list[bytes]) -> int:
        if partition not in self.data:
            return 0
        for key in keys:
            del self.data[partition][key]
            self.deleted.append((partition, key))
        return len(keys)


def test_purge_deletes_exactly_the_marks_beyond_the_horizon() -> None:
    p0 = {
        b"a:A1": mark("2001-01-01"),  # not a mark (sorts before d:)
        b"d:01": mark("2026-10-16"),
        b"d:02": mark("2026-10-17"),
        b"d:03": mark(None),
        b"d:04": mark("2025-01-01"),
        b"g:x": mark("2001-01-01"),  # not a mark (sorts after d:)
    }
    p3 = {b"d:10": mark("2026-11-22"), b"d:11": mark("2020-02-29")}
    store = FakeStore({0: dict(p0), 3: dict(p3)})
    assert asyncio.run(purge_expired(store, HORIZON, chunk=2)) == 3
    assert store.deleted == [(0, b"d:01"), (0, b"d:04"), (3, b"d:11")]
    assert set(store.data[0]) == {b"a:A1", b"d:02", b"d:03", b"g:x"}
    assert set(store.data[3]) == {b"d:10"}


def test_purge_walks_in_slices_and_visits_every_mark() -> None:
    marks = {
        f"d:{i:05d}".encode(): mark("2020-01-01" if i % 3 else "2026-11-01") for i in range(25)
    }
    store = FakeStore({1: marks})
    purged = asyncio.run(purge_expired(store, HORIZON, chunk=4))
    assert purged == sum(1 for i in range(25) if i % 3)
    assert store.scans == 7  # 25 keys in slices of 4: 6 full slices and the rest
    assert all(v == mark("2026-11-01") for v in store.data[1].values())


def test_a_partition_lost_mid_walk_is_left_alone() -> None:
    marks = {f"d:{i:02d}".encode(): mark("2020-01-01") for i in range(10)}
    store = FakeStore({0: dict(marks), 1: dict(marks)}, lose_after_scans=1)
    purged = asyncio.run(purge_expired(store, HORIZON, chunk=3))
    assert purged == 3  # the first slice of partition 0, then every partition is gone


def test_table_marks_seeks_to_the_marks_and_sends_tombstones(tmp_path: Path) -> None:
    db = rocksdict.Rdict(str(tmp_path / "p2"), options=rocksdict.Options(raw_mode=True))
    other = rocksdict.Rdict(str(tmp_path / "p5"), options=rocksdict.Options(raw_mode=True))
    for key, value in {
        b"a:A1": mark("2001-01-01"),
        b"d:old": mark("2024-05-01"),
        b"d:new": mark("2026-11-01"),
        b"d:agr": mark(None),
        b"p:A1\x1f2024-05": mark("2001-01-01"),
    }.items():
        db[key] = value
    other[b"d:standby"] = mark("2001-01-01")
    sent: list[tuple[int, bytes, Any]] = []
    changelog = SimpleNamespace(get_topic_name=lambda: "app-rebate-state-changelog")
    table: Any = SimpleNamespace(
        name="rebate-state",
        data=SimpleNamespace(_dbs={2: db, 5: other}),
        changelog_topic=changelog,
        send_changelog=lambda p, k, v, value_serializer=None: sent.append((p, k, v)),
    )
    app: Any = SimpleNamespace(
        rebalancing=False,
        in_recovery=False,
        assignor=SimpleNamespace(
            assigned_actives=lambda: {TP("app-rebate-state-changelog", 2), TP("raw", 5)}
        ),
    )
    metrics = Metrics()
    marks = TableMarks(app, table, metrics)
    assert marks.partitions() == [2]  # partition 5 is not an active changelog partition
    assert asyncio.run(purge_expired(marks, HORIZON, chunk=2)) == 1
    assert sent == [(2, b"d:old", None)]
    assert sorted(db.keys()) == [b"a:A1", b"d:agr", b"d:new", b"p:A1\x1f2024-05"]
    assert list(other.keys()) == [b"d:standby"]
    assert metrics.registry.get_sample_value(
        "recon_dedupe_marks_purged_total", {"table": "rebate-state"}
    ) == 1.0
    app.rebalancing = True  # nothing is touched while partitions move
    assert marks.partitions() == [] and marks.scan(2, b"d:", 10) is None
    db.close()
    other.close()
