"""`recon replay`: re-publish a range of a raw topic into the same topic.

Replays are safe because every record is deduplicated on its business idempotency key:
a replayed valid record is a *duplicate*, an invalid one is dead-lettered again. Each
replayed record gets a new correlation id ``replay-<run>:<original correlation id>`` so
the worker decides it afresh and publishes its own outcome, and the run publishes one
ingest manifest per source file (``Republisher``, shared with `recon dlq redrive`), so
``recon audit`` counts those records as reads: read = applied + duplicate + dead_lettered.
Keys, headers (but the correlation id) and partitions are preserved; a chunked message is
replayed whole, its records getting ``replay-<run>:<original>`` ids through the chunk's.
The ticks the claims agent sends to raw.claims are not records and are not replayed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from confluent_kafka import KafkaException, Message, TopicPartition

from streams.errors import KafkaOperationError, ReconError
from streams.formats import avro, ticks
from streams.formats import headers as h
from streams.formats.chunks import LINES
from streams.formats.records import Source
from streams.ingest.publishers import DeliveryTally
from streams.kafka import clients
from streams.kafka import topics as t
from streams.kafka.clients import consumer
from streams.kafka.read import PartitionRange, partitions, read_ranges
from streams.settings import Settings

HeaderList = list[tuple[str, bytes | None]]


def message_headers(msg: Message) -> HeaderList:
    """A message's headers as (name, bytes or None) pairs, in order."""
    raw = msg.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(name, value.encode() if isinstance(value, str) else value) for name, value in pairs]


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def replace_headers(
    headers: Iterable[tuple[str, bytes | None]], updates: dict[str, str]
) -> HeaderList:
    """``headers`` in their order with the values of ``updates`` replaced (each name once);
    names of ``updates`` not present are appended."""
    out: HeaderList = []
    done: set[str] = set()
    for name, value in headers:
        if name in updates:
            if name not in done:
                out.append((name, updates[name].encode()))
                done.add(name)
            continue
        out.append((name, value))
    out += [(name, value.encode()) for name, value in updates.items() if name not in done]
    return out


@dataclass
class FileCount:
    """Records republished from one source file (as the worker will attribute them)."""

    source_file: str
    file_sha256: str
    record_format: str
    topic: str
    rows: int = 0
    delivered: int = 0
    bytes: int = 0


@dataclass
class Republisher:
    """An idempotent producer that counts deliveries per source file."""

    settings: Settings
    run_id: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    files: dict[tuple[str, str], FileCount] = field(default_factory=dict)
    tally: DeliveryTally = field(default_factory=DeliveryTally)

    def __post_init__(self) -> None:
        self.producer = clients.producer(self.settings)

    def publish(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes,
        headers: HeaderList,
        file: FileCount | None,
        records: int = 1,
    ) -> None:
        """Publish one message holding ``records`` records (a chunk holds several);
        ``file`` is the source file they count for in the manifests (None: a record no
        worker decides, e.g. a ledger entry for a delivery target)."""
        counted = None
        if file is not None:
            counted = self.files.setdefault((file.source_file, file.file_sha256), file)
            counted.rows += records
            counted.bytes += len(value)
        report = self.tally.report(records)

        def delivered(err: object, msg: object) -> None:
            if err is None and counted is not None:
                counted.delivered += records
            report(err, msg)  # type: ignore[arg-type]

        kafka_headers = cast("list[tuple[str, str | bytes | None]]", headers)
        while True:
            try:
                self.producer.produce(
                    topic,
                    value=value,
                    key=key,
                    partition=partition,
                    headers=kafka_headers,
                    on_delivery=delivered,
                )
                break
            except BufferError:
                self.producer.poll(0.05)
            except KafkaException as exc:
                self.tally.fail(exc.args[0] if exc.args else exc, records)
                break
        self.producer.poll(0)

    def finish(self, kind: str) -> list[FileCount]:
        """Flush, then publish one manifest per source file; raise if anything failed."""
        undelivered = self.producer.flush(60)
        finished = datetime.now(UTC)
        manifests = DeliveryTally()
        for n, f in enumerate(sorted(self.files.values(), key=lambda f: f.source_file)):
            manifest_id = f"{kind}-{self.run_id}:{n}"
            manifest = {
                "run_id": manifest_id,
                "source_file": f.source_file,
                "file_sha256": f.file_sha256,
                "record_format": f.record_format,
                "topic": f.topic,
                "rows_read": f.rows,
                "rows_published": f.delivered,
                "bytes_read": f.bytes,
                "started_at": self.started_at,
                "finished_at": finished,
            }
            self.producer.produce(
                self.settings.topic(t.MANIFESTS),
                key=manifest_id.encode(),
                value=avro.encode("ingest_manifest", manifest),
                headers=[
                    (avro.SCHEMA_HEADER, b"ingest_manifest"),
                    (h.RUN_ID, manifest_id.encode()),
                ],
                on_delivery=manifests,
            )
        manifest_undelivered = self.producer.flush(60)
        if self.tally.failed or undelivered:
            raise KafkaOperationError(
                f"{kind} run {self.run_id}: {self.tally.failed + undelivered} record(s) not "
                f"delivered (first error: {self.tally.first_error or 'flush timed out'}); "
                "the manifests record what was; run it again"
            )
        if manifests.failed or manifest_undelivered:
            raise KafkaOperationError(
                f"{kind} run {self.run_id}: records delivered but manifests not "
                f"({manifests.first_error or 'flush timed out'}): the audit will show them "
                "as unexplained outcomes"
            )
        return list(self.files.values())


# -- replay ---------------------------------------------------------------------------------

RAW_TOPICS = (
    t.RAW_POS, t.RAW_PROMOTIONS, t.RAW_TRADES, t.RAW_CONFIRMATIONS, t.RAW_EDI, t.RAW_INVENTORY,
    t.RAW_CLAIMS,
)  # fmt: skip


class ReplayError(ReconError):
    """A replay that cannot run as asked (unknown topic, bad range)."""


def resolve_raw_topic(settings: Settings, name: str) -> str:
    """The full name of a raw topic given by logical (``raw.pos``) or full name."""
    for logical in RAW_TOPICS:
        if name in (logical, settings.topic(logical)):
            return settings.topic(logical)
    known = ", ".join(RAW_TOPICS)
    raise ReplayError(f"{name!r} is not a raw topic of this app (one of {known}, or full names)")


def _millis(at: datetime) -> int:
    if at.tzinfo is None:
        raise ReplayError(f"time {at.isoformat()} has no UTC offset (add Z or +00:00)")
    return int(at.timestamp() * 1000)


def plan(
    settings: Settings,
    topic: str,
    *,
    from_offset: int | None = None,
    from_time: datetime | None = None,
    to_offset: int | None = None,
    to_time: datetime | None = None,
    partition: int | None = None,
    timeout: float = 10.0,
) -> list[PartitionRange]:
    """Offset range ``[start, end)`` per partition: from the earliest retained offset (or
    ``from_offset`` / the first record at or after ``from_time``) up to the end observed now
    (or before ``to_offset`` / the first record at or after ``to_time``)."""
    if from_offset is not None and from_time is not None:
        raise ReplayError("give --from-offset or --from-time, not both")
    if to_offset is not None and to_time is not None:
        raise ReplayError("give --to-offset or --to-time, not both")
    c = consumer(settings)
    try:
        tps = partitions(c, topic, timeout)
        if partition is not None:
            tps = [tp for tp in tps if tp.partition == partition]
            if not tps:
                raise ReplayError(f"{topic} has no partition {partition}")
        marks = {tp.partition: c.get_watermark_offsets(tp, timeout=timeout) for tp in tps}

        def at_time(at: datetime) -> dict[int, int]:
            found = c.offsets_for_times(
                [TopicPartition(topic, p, _millis(at)) for p in marks], timeout=timeout
            )
            # -1: no record at or after that time, so the end.
            return {
                tp.partition: tp.offset if tp.offset >= 0 else marks[tp.partition][1]
                for tp in found
            }

        starts = at_time(from_time) if from_time is not None else {}
        ends = at_time(to_time) if to_time is not None else {}
        ranges = []
        for p, (low, high) in sorted(marks.items()):
            start = from_offset if from_offset is not None else starts.get(p, low)
            end = to_offset if to_offset is not None else ends.get(p, high)
            start, end = max(start, low), min(end, high)
            ranges.append(PartitionRange(p, start, max(start, end)))
        return ranges
    finally:
        c.close()


def source_of(msg: Message) -> Source:
    return Source(
        topic=msg.topic() or "",
        partition=msg.partition() or 0,
        offset=msg.offset() or 0,
        key=msg.key(),
        value=msg.value() or b"",
        headers=h.to_dict(message_headers(msg)),
    )


def replayable(msg: Message) -> bool:
    """A source record, not a tick: the claims agent's clock shares its raw topic
    (raw.claims). A replayed tick would be counted in the manifests as a record of a file
    named after the topic that no worker decides, so the audit would never reconcile; the
    worker sends its own ticks."""
    return ticks.decode(msg.key(), msg.value()) is None


def file_of(src: Source) -> FileCount:
    """The source file the worker will attribute ``src``'s outcome to."""
    return FileCount(src.source_file, src.file_sha256, src.record_format, src.topic)


@dataclass(frozen=True)
class ReplayResult:
    run_id: str
    topic: str
    ranges: list[PartitionRange]
    files: list[FileCount]

    @property
    def records(self) -> int:
        return sum(f.rows for f in self.files)


def replay(
    settings: Settings,
    topic: str,
    ranges: list[PartitionRange],
    *,
    on_record: Callable[[], None] | None = None,
) -> ReplayResult:
    """Re-publish every record of ``ranges`` into ``topic`` (same partition, key and
    headers; correlation id ``replay-<run>:<original>``), then one manifest per file."""
    run = Republisher(settings, new_run_id())
    for msg in read_ranges(settings, topic, ranges):
        if not replayable(msg):
            continue
        src = source_of(msg)
        headers = replace_headers(
            message_headers(msg),
            {h.CORRELATION_ID: f"replay-{run.run_id}:{src.correlation_id}"},
        )
        records = len(src.headers[LINES].split(",")) if LINES in src.headers else 1
        run.publish(topic, src.partition, src.key, src.value, headers, file_of(src), records)
        if on_record is not None:
            on_record()
    return ReplayResult(run.run_id, topic, ranges, run.finish("replay"))
