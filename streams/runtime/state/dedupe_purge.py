"""Purging dedupe marks beyond the horizon from the rebate state table.

Each worker walks the ``d:`` keys of the table partitions it holds as active (marks sort
together in RocksDB, so it seeks straight to them) in slices of ``CHUNK`` keys, yielding
to the event loop between slices so agents keep processing. A purge is a delete through the
table's changelog (a tombstone on the mark's partition), so the compacted changelog drops
the mark too and a restore from it stays consistent with the local state.

The walk runs outside any agent event, so it cannot use ``del table[key]`` (Faust routes a
table write to the partition of the current event); it deletes from the partition's
RocksDB and sends the tombstone to that partition itself, which is what Faust does for a
delete inside an event. Agents decide records synchronously, so no slice can interleave
with a record's read-modify-write. A partition revoked mid-walk (or any walk during a
rebalance or recovery) stops at the next slice; the next pass resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import faust
from faust.types import TP, TableT

from streams.domain.accrual.horizon import MARK_PREFIX, DedupeHorizon, expired_marks
from streams.observability.metrics import Metrics

log = logging.getLogger(__name__)

CHUNK = 1_000  # keys examined per slice: ~a millisecond of RocksDB reads and JSON decodes
RECOVERY_WAIT_SECONDS = 60.0


class MarkStore(Protocol):
    """The partitions of a state table this worker may purge, seen as sorted key ranges."""

    def partitions(self) -> list[int]: ...

    def scan(self, partition: int, start: bytes, limit: int) -> list[tuple[bytes, bytes]] | None:
        """Up to ``limit`` marks (``d:`` keys) from ``start`` on, in key order; None once
        the partition is no longer held here."""

    def delete(self, partition: int, keys: list[bytes]) -> int:
        """Delete these marks; how many (0 if the partition is no longer held here)."""


async def purge_expired(store: MarkStore, horizon: DedupeHorizon, chunk: int = CHUNK) -> int:
    """Delete every mark dated before ``horizon.purge_before()``; returns how many."""
    before = horizon.purge_before()
    purged = 0
    for partition in store.partitions():
        start = MARK_PREFIX
        while True:
            items = store.scan(partition, start, chunk)
            if items is None:
                break
            # scan and deletes in one slice: the partition cannot be revoked in between
            expired = list(expired_marks(items, before))
            if expired:
                purged += store.delete(partition, expired)
            if len(items) < chunk:
                break
            start = items[-1][0] + b"\x00"  # the next key after the last one seen
            await asyncio.sleep(0)
    return purged


class TableMarks:
    """MarkStore over a Faust table on the RocksDB store (one DB per partition)."""

    def __init__(self, app: faust.App, table: TableT[bytes, bytes], metrics: Metrics) -> None:
        self.app = app
        self.table = table
        self.purged = metrics.dedupe_marks_purged.labels(table.name)

    def _active_dbs(self) -> dict[int, Any]:
        # The same selection as Faust's own iteration over a table (Store._dbs_for_actives):
        # only active partitions, never a standby; nothing while a rebalance or a recovery
        # runs (a partition being restored is not the changelog's state yet).
        if self.app.rebalancing or self.app.in_recovery:
            return {}
        dbs: dict[int, Any] | None = getattr(self.table.data, "_dbs", None)
        if dbs is None:
            return {}
        actives = self.app.assignor.assigned_actives()
        topic = self.table.changelog_topic.get_topic_name()
        return {p: db for p, db in dbs.items() if TP(topic=topic, partition=p) in actives}

    def partitions(self) -> list[int]:
        return sorted(self._active_dbs())

    def scan(self, partition: int, start: bytes, limit: int) -> list[tuple[bytes, bytes]] | None:
        db = self._active_dbs().get(partition)
        if db is None:
            return None
        out: list[tuple[bytes, bytes]] = []
        it = db.iter()
        it.seek(start)
        while it.valid() and len(out) < limit:
            key: bytes = it.key()
            if not key.startswith(MARK_PREFIX):
                break
            out.append((key, it.value()))
            it.next()
        return out

    def delete(self, partition: int, keys: list[bytes]) -> int:
        db = self._active_dbs().get(partition)
        if db is None:
            return 0
        for key in keys:
            db.delete(key)
            self.table.send_changelog(partition, key, None, value_serializer="raw")
        self.purged.inc(len(keys))
        return len(keys)


def purger(
    app: faust.App, table: TableT[bytes, bytes], horizon: DedupeHorizon, metrics: Metrics
) -> Callable[[], Awaitable[None]]:
    """One purge pass over ``table``, for a timer and the drain's end of input. Passes
    never overlap, and run only once table recovery has completed (before, the local
    state is not the changelog's yet)."""
    store = TableMarks(app, table, metrics)
    running = asyncio.Lock()
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager's

    async def run() -> None:
        if running.locked():
            return
        async with running:
            try:
                await asyncio.wait_for(recovery.completed.wait(), RECOVERY_WAIT_SECONDS)
            except TimeoutError:
                log.info("dedupe purge skipped: table recovery has not completed")
                return
            try:
                purged = await purge_expired(store, horizon)
            except Exception:  # a purge must never take the worker down; the next one retries
                log.exception("dedupe purge of %s failed", table.name)
                return
            log.info(
                "dedupe purge: %d mark(s) of sales before %s deleted from %s",
                purged,
                horizon.purge_before().isoformat(),
                table.name,
            )

    return run
