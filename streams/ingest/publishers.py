"""How ingest puts a file's records on its raw topic: one message per record, or chunks
of records of one partition (streams.formats.chunks), bounded by count, bytes and time."""

from __future__ import annotations

import time
from typing import Protocol, cast

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from streams.formats import chunks
from streams.formats import headers as h
from streams.kafka.partitioner import partition_of
from streams.observability.tracing import new_traceparent
from streams.settings import Settings

PARTITION_BY_KEY = -1  # librdkafka's RD_KAFKA_PARTITION_UA: the partitioner decides
POLL_EVERY = 1000  # records between poll(0) calls: serves delivery reports, bounds their backlog


class DeliveryTally:
    """Counts records whose message was delivered or failed; keeps the first failure."""

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0
        self.first_error: str | None = None

    def fail(self, error: object, records: int = 1) -> None:
        self.failed += records
        if self.first_error is None:
            self.first_error = str(error)

    def report(self, records: int) -> _Report:
        return _Report(self, records)

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.fail(err)


class _Report:
    """The delivery callback of a message holding ``records`` records."""

    __slots__ = ("records", "tally")

    def __init__(self, tally: DeliveryTally, records: int) -> None:
        self.tally, self.records = tally, records

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.tally.delivered += self.records
        else:
            self.tally.fail(err, self.records)


def produce(
    producer: Producer,
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: h.HeaderList,
    tally: DeliveryTally,
    partition: int | None = None,
    records: int = 1,
) -> None:
    """Produce one message holding ``records`` records (to ``partition``, else by key),
    counted in ``tally``; wait on a full local queue (BufferError) instead of failing."""
    kafka_headers = cast("list[tuple[str, str | bytes | None]]", headers)  # list is invariant
    where = PARTITION_BY_KEY if partition is None else partition
    on_delivery = tally if records == 1 else tally.report(records)
    while True:
        try:
            producer.produce(
                topic,
                value=value,
                key=key,
                headers=kafka_headers,
                on_delivery=on_delivery,
                partition=where,
            )
            return
        except BufferError:
            producer.poll(0.05)
        except KafkaException as exc:  # refused up front (e.g. too large): a failed delivery
            tally.fail(exc.args[0] if exc.args else exc, records)
            return


class Publisher(Protocol):
    def add(self, line: int, key: bytes, raw: bytes, ingested_at: str) -> None: ...

    def publish_due(self) -> None:
        """Publish what has waited long enough (a feed that pauses)."""

    def close(self) -> None:
        """Publish whatever is buffered."""


def record_headers(
    constant: h.HeaderList, run_id: str, line: int, ingested_at: str, traceparent: str
) -> h.HeaderList:
    """Headers of a message of one record: the per-record values, then the run's."""
    return [
        (h.CORRELATION_ID, chunks.line_correlation_id(run_id, line).encode()),
        (h.LINE, str(line).encode()),
        (h.INGESTED_AT, ingested_at.encode()),
        (h.TRACEPARENT, traceparent.encode()),
        *constant,
    ]


class RecordPublisher:
    """One message per record, keyed: the partitioner places it."""

    def __init__(
        self,
        producer: Producer,
        topic: str,
        constant: h.HeaderList,
        run_id: str,
        tally: DeliveryTally,
    ) -> None:
        self.producer, self.topic, self.constant = producer, topic, constant
        self.run_id, self.tally = run_id, tally
        self._count = 0

    def add(self, line: int, key: bytes, raw: bytes, ingested_at: str) -> None:
        headers = record_headers(self.constant, self.run_id, line, ingested_at, new_traceparent())
        produce(self.producer, self.topic, key, raw, headers, self.tally)
        self._count += 1
        if self._count % POLL_EVERY == 0:
            self.producer.poll(0)

    def publish_due(self) -> None:
        pass

    def close(self) -> None:
        pass


def chunk_message(
    chunk: chunks.OpenChunk, run_id: str, constant: h.HeaderList
) -> tuple[bytes, h.HeaderList]:
    """The value and headers of a chunk as ``recon ingest`` publishes it."""
    value, framing = chunks.frame(chunk.records)
    headers = [
        (h.CORRELATION_ID, run_id.encode()),  # the records': <run>:<line>
        (h.LINE, str(chunk.records[0][0]).encode()),
        (h.INGESTED_AT, chunk.ingested_at.encode()),
        (h.TRACEPARENT, new_traceparent().encode()),
        *framing,
        *constant,
    ]
    return value, headers


class ChunkPublisher:
    """Records of one partition (by the key the partitioner would hash) gathered into
    chunks (``chunks.Chunker``), each published when full or when its oldest record has
    waited ``ingest_chunk_linger_ms``."""

    def __init__(
        self,
        producer: Producer,
        topic: str,
        partitions: int,
        constant: h.HeaderList,
        run_id: str,
        tally: DeliveryTally,
        settings: Settings,
        max_bytes: int,
    ) -> None:
        self.producer, self.topic, self.partitions = producer, topic, partitions
        self.constant, self.run_id, self.tally = constant, run_id, tally
        self.chunker = chunks.Chunker(settings.ingest_chunk_records, max_bytes)
        self.linger = settings.ingest_chunk_linger_ms / 1000
        self._partition: dict[bytes, int] = {}
        self._count = 0

    def add(self, line: int, key: bytes, raw: bytes, ingested_at: str) -> None:
        partition = self._partition.get(key)
        if partition is None:
            partition = self._partition[key] = partition_of(key, self.partitions)
        for full in self.chunker.add(partition, line, raw, ingested_at, time.monotonic()):
            self._publish(full)
        self._count += 1
        if self._count % 256 == 0:
            self.publish_due()
        if self._count % POLL_EVERY == 0:
            self.producer.poll(0)

    def publish_due(self) -> None:
        for chunk in self.chunker.opened_before(time.monotonic() - self.linger):
            self._publish(chunk)

    def _publish(self, chunk: chunks.OpenChunk) -> None:
        value, headers = chunk_message(chunk, self.run_id, self.constant)
        n = len(chunk.records)
        produce(
            self.producer, self.topic, None, value, headers, self.tally,
            partition=chunk.partition, records=n,
        )  # fmt: skip

    def close(self) -> None:
        for chunk in self.chunker.close_all():
            self._publish(chunk)
