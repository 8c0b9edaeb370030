"""Raw confluent-kafka reads used by the CLI and the worker's monitors.

One read loop: ``read_ranges`` reads given offset ranges; ``read_topic`` reads a whole topic
from the beginning up to the end offsets observed when it starts (a consistent snapshot,
so a report never chases a moving tail).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from streams.errors import KafkaOperationError
from streams.kafka.clients import consumer
from streams.kafka.security import refused
from streams.settings import Settings


def partitions(
    c: Consumer, topic: str, timeout: float = 10.0, settings: Settings | None = None
) -> list[TopicPartition]:
    meta = c.list_topics(topic, timeout=timeout).topics.get(topic)
    if settings is not None and meta is not None:
        denied = refused(settings, meta.error, f"read topic {topic}")
        if denied is not None:
            raise denied
    if meta is None or meta.error is not None:
        raise KafkaOperationError(f"topic {topic} does not exist (run `recon topics create`)")
    return [TopicPartition(topic, p) for p in sorted(meta.partitions)]


@dataclass(frozen=True)
class PartitionRange:
    partition: int
    start: int  # first offset read
    end: int  # first offset not read

    @property
    def count(self) -> int:
        return max(0, self.end - self.start)


def read_topic(settings: Settings, topic: str, timeout: float = 10.0) -> Iterator[Message]:
    """Every message of ``topic`` up to the end offsets seen when the read starts."""
    c = consumer(settings)
    try:
        ranges = []
        for tp in partitions(c, topic, timeout, settings):
            low, high = c.get_watermark_offsets(tp, timeout=timeout)
            ranges.append(PartitionRange(tp.partition, low, high))
    finally:
        c.close()
    yield from read_ranges(settings, topic, ranges, timeout)


def read_ranges(
    settings: Settings, topic: str, ranges: list[PartitionRange], timeout: float = 10.0
) -> Iterator[Message]:
    """Every message of ``topic`` in the given ranges (per partition, in offset order).
    Raises if no message arrives for ``timeout`` seconds while some range is unfinished."""
    todo = {r.partition: r.end for r in ranges if r.count}
    if not todo:
        return
    c = consumer(settings)
    try:
        c.assign([TopicPartition(topic, r.partition, r.start) for r in ranges if r.count])
        idle_since = time.monotonic()
        while todo:
            batch = c.consume(1000, timeout=0.5)
            if not batch:
                # The last offsets may hold no message (e.g. a transaction marker): ask the
                # consumer where it stands instead of waiting for a message that never comes.
                for tp in c.position([TopicPartition(topic, p) for p in todo]):
                    if tp.offset >= todo[tp.partition]:
                        del todo[tp.partition]
                if todo and time.monotonic() - idle_since > timeout:
                    raise KafkaOperationError(f"reading {topic}: no progress for {timeout:.0f} s")
                continue
            idle_since = time.monotonic()
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise refused(settings, err, f"read topic {topic}") or KafkaOperationError(
                        f"reading {topic}: {err}"
                    )
                p, offset = msg.partition() or 0, msg.offset()
                end = todo.get(p)
                if end is None or offset is None or offset >= end:
                    continue
                yield msg
                if offset + 1 >= end:
                    del todo[p]
    finally:
        c.close()


@dataclass(frozen=True)
class Lag:
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def behind(self) -> int:
        return self.end - (self.committed or 0) if self.committed is not None else self.end


class LagProbe:
    """Lag of one consumer group, asked repeatedly over one connection (a drain asks every
    second: a new client each time costs more than the question)."""

    def __init__(self, settings: Settings, group: str) -> None:
        self._consumer = consumer(settings, group)

    def lag(self, topics: list[str], timeout: float = 10.0) -> list[Lag]:
        """Committed offset of the group against the end of each partition of ``topics``."""
        c = self._consumer
        tps = [tp for topic in topics for tp in partitions(c, topic, timeout)]
        committed = {
            (tp.topic, tp.partition): tp.offset for tp in c.committed(tps, timeout=timeout)
        }
        lags = []
        for tp in tps:
            low, high = c.get_watermark_offsets(tp, timeout=timeout)
            offset = committed.get((tp.topic, tp.partition))
            at = offset if offset is not None and offset >= 0 else None
            # A partition whose retained range is empty has nothing to process.
            lags.append(Lag(tp.topic, tp.partition, at if high > low else high, high))
        return lags

    def close(self) -> None:
        self._consumer.close()


def group_lag(
    settings: Settings, group: str, topics: list[str], timeout: float = 10.0
) -> list[Lag]:
    """Committed offset of ``group`` against the end of each partition of ``topics``."""
    probe = LagProbe(settings, group)
    try:
        return probe.lag(topics, timeout)
    finally:
        probe.close()
