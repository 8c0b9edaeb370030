"""Raw confluent-kafka reads used by the CLI and the worker's monitors.

``read_topic`` reads a whole topic from the beginning up to the end offsets observed when
it starts (a consistent snapshot, so a report never chases a moving tail).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from streams.errors import KafkaOperationError
from streams.settings import Settings

LIBRDKAFKA_LOG = logging.getLogger("librdkafka")


def consumer(settings: Settings, group: str | None = None) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": settings.bootstrap,
            "group.id": group or f"{settings.app_id}-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            # librdkafka's own log lines through Python logging (JSON in the worker), not
            # written raw to stderr
            "logger": LIBRDKAFKA_LOG,
        }
    )


def partitions(c: Consumer, topic: str, timeout: float = 10.0) -> list[TopicPartition]:
    meta = c.list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None:
        raise KafkaOperationError(f"topic {topic} does not exist (run `recon topics create`)")
    return [TopicPartition(topic, p) for p in sorted(meta.partitions)]


def read_topic(settings: Settings, topic: str, timeout: float = 10.0) -> Iterator[Message]:
    c = consumer(settings)
    try:
        ends: dict[int, int] = {}
        assignment = []
        for tp in partitions(c, topic, timeout):
            low, high = c.get_watermark_offsets(tp, timeout=timeout)
            if high > low:
                ends[tp.partition] = high
                assignment.append(TopicPartition(topic, tp.partition, OFFSET_BEGINNING))
        if not assignment:
            return
        c.assign(assignment)
        idle_since = time.monotonic()
        while ends:
            batch = c.consume(1000, timeout=0.5)
            if not batch:
                # The last offsets may hold no message (e.g. a transaction marker): ask the
                # consumer where it stands instead of waiting for a message that never comes.
                for tp in c.position([TopicPartition(topic, p) for p in ends]):
                    if tp.offset >= ends[tp.partition]:
                        del ends[tp.partition]
                if ends and time.monotonic() - idle_since > timeout:
                    raise KafkaOperationError(f"reading {topic}: no progress for {timeout:.0f} s")
                continue
            idle_since = time.monotonic()
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaOperationError(f"reading {topic}: {err}")
                partition, offset = msg.partition() or 0, msg.offset()
                end = ends.get(partition)
                if end is None or offset is None or offset >= end:
                    continue
                yield msg
                if offset + 1 >= end:
                    del ends[partition]
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
