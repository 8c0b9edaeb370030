"""Write-behind state for a batch of records: one table write (and one changelog record)
per key per batch, instead of one per record that touches it.

The engine keeps its read-modify-write per record; only the write to the Faust table is
deferred to ``flush``. A crash part-way through a flush leaves each key either with the
batch's last value or with its value from before the batch; the engine's recovery rule
(every row carries the source offset it last folded in) then skips a reprocessed record
exactly on the keys that already hold it, provided no key is durable before the keys it
was computed from: ``order`` ranks the keys so (a posting row written by an agreement must
not become durable before the cell of a later sale it was computed from).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faust.streams import current_event
from faust.types import TP, TableT
from rocksdict import WriteBatch

from streams.domain.state import decode, encode
from streams.kafka.direct import DirectOutput

# Combines a pending (not yet flushed) value of a key with a newer one for the same key.
Merge = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
Rank = Callable[[bytes], int]  # flush order of a key: lower first, then first written


class BatchTableState:
    """``get``/``put`` any time; ``flush`` under the event of the batch's partition (Faust
    routes the table write and its changelog record by the current event's partition), and
    before anything awaits: a batch in progress is not visible to other agents.

    Until the flush, the values read or written are kept decoded, so a key the batch's
    records keep coming back to (a vendor, an agreement, a posting row) is decoded once
    and encoded once. ``get`` returns a shallow copy: the engine always ``put``s what it
    changes, and a merge must see the pending value as it was."""

    def __init__(
        self,
        table: TableT[bytes, bytes],
        merge: Merge | None = None,
        order: Rank | None = None,
        output: DirectOutput | None = None,
    ) -> None:
        self.table = table
        self.merge = merge
        self.order = order
        # With an output, the changelog records go through it (confluent-kafka) and the
        # values straight to the partition's RocksDB; the caller awaits ``output.flush()``.
        self.output = output
        self._seen: dict[bytes, dict[str, Any] | None] = {}  # read or written this batch
        self._pending: dict[bytes, dict[str, Any]] = {}  # written this batch

    def get(self, key: str) -> dict[str, Any] | None:
        raw_key = key.encode("utf-8")
        if raw_key in self._seen:
            doc = self._seen[raw_key]
            return None if doc is None else dict(doc)
        raw = self._read(raw_key)
        doc = None if raw is None else decode(raw)
        self._seen[raw_key] = doc
        return None if doc is None else dict(doc)

    def put(self, key: str, value: dict[str, Any]) -> None:
        raw_key = key.encode("utf-8")
        older = self._pending.get(raw_key)
        if older is not None and self.merge is not None:
            value = self.merge(older, value)
        self._pending[raw_key] = self._seen[raw_key] = value

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _read(self, raw_key: bytes) -> bytes | None:
        if self.output is None:
            raw: bytes | None = self.table.get(raw_key)
            return raw
        # Straight from the event's partition DB, as Faust's store does for a keyed table,
        # without the table's mapping layers in between (a read per key per batch).
        value: bytes | None = self._partition_db(self._partition()).get(raw_key)
        return value

    @staticmethod
    def _partition() -> int:
        event = current_event()
        if event is None:
            raise RuntimeError("write-behind state used outside of an event")
        partition: int = event.message.partition
        return partition

    def _partition_db(self, partition: int) -> Any:
        return self.table.data._db_for_partition(partition)  # type: ignore[attr-defined]

    def flush(self) -> int:
        """Write the pending values to the table; returns how many keys were written."""
        written = len(self._pending)
        keys = list(self._pending)
        if self.order is not None:
            keys.sort(key=self.order)  # stable: first written first within a rank
        if self.output is None:
            for raw_key in keys:
                self.table[raw_key] = encode(self._pending[raw_key])
        elif keys:
            partition = self._partition()
            db = self._partition_db(partition)
            changelog = self.table.changelog_topic.get_topic_name()
            self.output.observe(changelog, self._persisted)
            batch = WriteBatch(raw_mode=True)  # one write of the local DB, not one per key
            for raw_key in keys:
                raw = encode(self._pending[raw_key])
                batch.put(raw_key, raw)
                self.output.send(changelog, raw_key, raw, partition=partition)
            db.write(batch)
        self._pending.clear()
        self._seen.clear()
        return written

    def _persisted(self, topic: str, partition: int, offset: int) -> None:
        # What Faust records of a changelog partition: recovery resumes after it.
        self.table.data.set_persisted_offset(TP(topic, partition), offset)  # type: ignore[attr-defined]
