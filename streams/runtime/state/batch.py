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

from typing import Any

from faust.streams import current_event
from faust.types import TP, TableT
from rocksdict import WriteBatch

from streams.domain.state import BatchedState, Merge, Rank
from streams.kafka.direct import DirectOutput


class BatchTableState(BatchedState):
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
        super().__init__(merge, order)
        self.table = table
        # With an output, the changelog records go through it (confluent-kafka) and the
        # values straight to the partition's RocksDB; the caller awaits ``output.flush()``.
        self.output = output

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
        if self.output is None:
            writes = self.take_pending()
            for raw_key, raw in writes:
                self.table[raw_key] = raw
            return len(writes)
        if not self.pending:
            self.take_pending()  # the batch's reads are forgotten all the same
            return 0
        partition = self._partition()  # raises outside of an event: nothing is taken
        writes = self.take_pending()
        db = self._partition_db(partition)
        changelog = self.table.changelog_topic.get_topic_name()
        self.output.observe(changelog, self._persisted)
        batch = WriteBatch(raw_mode=True)  # one write of the local DB, not one per key
        for raw_key, raw in writes:
            batch.put(raw_key, raw)
            self.output.send(changelog, raw_key, raw, partition=partition)
        db.write(batch)
        return len(writes)

    def _persisted(self, topic: str, partition: int, offset: int) -> None:
        # What Faust records of a changelog partition: recovery resumes after it.
        self.table.data.set_persisted_offset(TP(topic, partition), offset)  # type: ignore[attr-defined]
