"""Bulk restore of the state tables from their changelogs, before Faust starts.

Faust restores a table by running every changelog record through its recovery service,
one event at a time: about 7,000 records a second here, so a worker whose local state was
discarded after an unclean stop spends over 20 minutes on 10 million keys before it
processes anything. This reads each changelog partition from the table partition's
persisted offset to its end with a confluent-kafka consumer and writes the records into
the partition's RocksDB (Faust's own store: same paths, options and offset key) in write
batches, tombstones as deletes, then records the last offset as persisted. Faust's
recovery then finds nothing left to read. The result is what Faust's own restore writes:
the changelog's last value of every key, and the offset it has read to.

Every partition of every table is brought up to date, whichever this worker will be
assigned: a partition it never gets costs restore time but is correct whenever it does
get it (Faust reads on from the persisted offset).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import faust
from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from faust.types import TP
from rocksdict import WriteBatch

from streams.kafka import clients
from streams.settings import Settings

log = logging.getLogger(__name__)

BATCH = 10_000  # messages per consume call and write batch


@dataclass
class Restored:
    records: int = 0
    partitions: int = 0
    seconds: float = 0.0


def restore_tables(app: faust.App, settings: Settings) -> Restored:
    """Bring every local table partition up to the end of its changelog partition."""
    started = time.perf_counter()
    done = Restored()
    for table in app.tables.values():
        store: Any = table.data
        topic = table.changelog_topic.get_topic_name()
        todo = _behind(settings, store, topic)
        if todo:
            done.records += _read_into(settings, store, topic, todo)
            done.partitions += len(todo)
    done.seconds = time.perf_counter() - started
    if done.records:
        log.warning(
            "restored %d changelog records into %d table partitions in %.1f s",
            done.records, done.partitions, done.seconds,
        )  # fmt: skip
    return done


def _behind(settings: Settings, store: Any, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (first offset to read, end offset) of the partitions behind."""
    c = clients.consumer(settings, f"restore-{uuid.uuid4().hex[:8]}")
    try:
        meta = c.list_topics(topic, timeout=15).topics.get(topic)
        if meta is None or meta.error is not None:
            return {}  # no changelog yet: nothing was ever written
        todo = {}
        for p in meta.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)
            persisted = store.persisted_offset(TP(topic, p))
            start = low if persisted is None else max(persisted + 1, low)
            if start < high:
                todo[p] = (start, high)
        return todo
    finally:
        c.close()


# Larger fetches than the defaults: a restore reads whole partitions, and the defaults
# (1 MB per partition) halve its speed.
FETCH = {
    "fetch.max.bytes": 50 * 1024 * 1024,
    "max.partition.fetch.bytes": 10 * 1024 * 1024,
    "queued.max.messages.kbytes": 256 * 1024,
}


def _read_into(settings: Settings, store: Any, topic: str, todo: dict[int, tuple[int, int]]) -> int:
    c = clients.consumer(settings, f"restore-{uuid.uuid4().hex[:8]}", **FETCH)
    records = 0
    try:
        c.assign([TopicPartition(topic, p, start if start else OFFSET_BEGINNING)
                  for p, (start, _) in todo.items()])  # fmt: skip
        left = {p: end for p, (_, end) in todo.items()}
        while left:
            batches: dict[int, tuple[WriteBatch, int]] = {}
            messages = c.consume(BATCH, timeout=1.0)
            if not messages:  # the end may be past the last record (a compacted gap)
                for tp in c.position([TopicPartition(topic, p) for p in left]):
                    if tp.offset >= left[tp.partition]:
                        del left[tp.partition]
            for msg in messages:
                if msg.error() is not None:
                    continue
                p, offset, key = msg.partition() or 0, msg.offset() or 0, msg.key()
                if p not in left:
                    continue
                batch, _ = batches.get(p) or (WriteBatch(raw_mode=True), -1)
                value = msg.value()
                if key is not None:  # a table's changelog records all have keys
                    if value is None:
                        batch.delete(key)
                    else:
                        batch.put(key, value)
                batches[p] = (batch, offset)
                records += 1
            for p, (batch, last) in batches.items():
                store._db_for_partition(p).write(batch)
                store.set_persisted_offset(TP(topic, p), last)
                if last + 1 >= left[p]:
                    del left[p]
    finally:
        c.close()
    return records
