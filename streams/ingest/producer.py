"""Publish a CSV file's raw records to its raw topic, then one manifest for the run.

Ingest does not validate content: every record read is published with headers that locate
it (file, SHA-256, line) so the agents can dead-letter it precisely. Records are keyed by
vendor id (or by match group, for trades and confirmations) and partitioned with librdkafka's
Java-compatible murmur2, so a vendor's sales and agreements (or the trades and confirmations
that can match) land on the same partition number of two equally partitioned topics.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from confluent_kafka import Producer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from streams.formats import avro
from streams.formats import headers as h
from streams.formats.claims_x12_source import CLAIMS_X12_FORMAT, ClaimX12Records, is_x12
from streams.formats.csv_source import CsvRecords, IngestError, file_sha256
from streams.formats.edi_source import EDI_FORMAT, EdiRecords
from streams.formats.xlsx_source import XlsxRecords
from streams.ingest.acks import AckRequests
from streams.ingest.columns import header_warning
from streams.ingest.oversized import OversizedRecords, record_limit
from streams.ingest.publishers import (
    ChunkPublisher,
    DeliveryTally,
    Publisher,
    RecordPublisher,
    produce,
    record_headers,
)
from streams.ingest.reach import reaching, require_topics
from streams.kafka import clients
from streams.kafka.partitioner import keyer
from streams.kafka.topics import (
    ACKS_INPUT,
    DLQ,
    MANIFESTS,
    OUTCOMES,
    RAW_CLAIMS,
    RAW_CONFIRMATIONS,
    RAW_EDI,
    RAW_INVENTORY,
    RAW_POS,
    RAW_PROMOTIONS,
    RAW_RATES,
    RAW_TRADES,
)
from streams.observability.metrics import Metrics
from streams.observability.tracing import new_traceparent
from streams.settings import Settings

__all__ = ["IngestError", "IngestResult", "ingest_file"]

Kind = Literal[
    "pos", "promotions", "trades", "confirmations", "edi", "rates", "inventory", "claims"
]
# kind -> (logical topic, recon-format header value, the co-partitioned logical topic)
FORMATS: dict[str, tuple[str, str, str]] = {
    "pos": (RAW_POS, "pos-csv", RAW_PROMOTIONS),
    "promotions": (RAW_PROMOTIONS, "promotions-csv", RAW_POS),
    "trades": (RAW_TRADES, "trades-csv", RAW_CONFIRMATIONS),
    "confirmations": (RAW_CONFIRMATIONS, "confirmations-csv", RAW_TRADES),
    "edi": (RAW_EDI, EDI_FORMAT, RAW_EDI),  # X12: one record per transaction set
    "rates": (RAW_RATES, "rates-csv", RAW_EDI),  # a carrier's rows meet its 210s
    "inventory": (RAW_INVENTORY, "inventory-csv", RAW_INVENTORY),  # keyed by asset
    "claims": (RAW_CLAIMS, "claims-csv", RAW_POS),  # keyed by vendor, meets its accruals
}
XLSX_FORMAT = "inventory-xlsx"  # an Excel manifest: its rows published as CSV records
CHUNKED = frozenset({"pos", "claims"})  # kinds published in chunks (streams.formats.chunks)
PROGRESS_EVERY = 5000


@dataclass(frozen=True)
class IngestResult:
    run_id: str
    source_file: str
    file_sha256: str
    record_format: str
    topic: str
    rows_read: int
    rows_published: int
    bytes_read: int
    seconds: float
    rows_dead_lettered: int = 0
    """Records too large to publish, dead-lettered at ingest (streams/ingest/oversized.py)."""
    warnings: tuple[str, ...] = ()
    """About the file as a whole (a header row without any expected column)."""

    def summary(self) -> str:
        rate = self.rows_read / self.seconds if self.seconds > 0 else 0.0
        oversized = (
            f", {self.rows_dead_lettered} dead-lettered as oversized"
            if self.rows_dead_lettered
            else ""
        )
        return (
            f"ingested {self.source_file}: {self.rows_read} rows read, {self.rows_published} "
            f"published to {self.topic}{oversized} ({self.bytes_read} bytes, "
            f"{self.seconds:.2f} s, {rate:.0f} rows/s)"
        )


@dataclass(frozen=True)
class RunContext:
    """What is constant across every record of one ingest run."""

    run_id: str
    source_file: str
    file_sha256: str
    record_format: str
    columns: str
    extra: tuple[tuple[str, bytes], ...] = ()  # kind-specific (an inventory manifest's time)

    def constant_headers(self) -> h.HeaderList:
        return [
            *self.extra,
            (h.SOURCE_FILE, self.source_file.encode()),
            (h.FILE_SHA256, self.file_sha256.encode()),
            (h.FORMAT, self.record_format.encode()),
            (h.COLUMNS, self.columns.encode()),
            (h.RUN_ID, self.run_id.encode()),
        ]


class UtcClock:
    """UTC now as ISO 8601 with microseconds and ``Z``, 4x cheaper than datetime.isoformat.

    Called once per record, so the date-time text is formatted once per second and only
    the microseconds per call. The cache is one tuple, so sharing across threads is safe.
    """

    def __init__(self) -> None:
        self._cache: tuple[int, str] = (-1, "")

    def __call__(self) -> str:
        seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
        cached_seconds, prefix = self._cache
        if seconds != cached_seconds:
            prefix = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            self._cache = (seconds, prefix)
        return f"{prefix}{nanos // 1000:06d}Z"


utc_now_iso = UtcClock()


@contextmanager
def _progress(enabled: bool, name: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """Yield ``show(bytes_done, rows)``: a rich bar on stderr, or a no-op when disabled."""
    if not enabled:
        yield lambda done, rows: None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn())
    extra = (TransferSpeedColumn(), TextColumn("{task.fields[rows]} rows"), TimeRemainingColumn())
    with Progress(*columns, *extra, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(name, total=total, rows=0)
        yield lambda done, rows: bar.update(task, completed=done, rows=rows)


def publisher_of(
    settings: Settings,
    kind: str,
    producer: Producer,
    topic: str,
    partitions: int,
    run: RunContext,
    tally: DeliveryTally,
    record_limit: int,
) -> Publisher:
    """Chunks for a POS feed unless ``ingest_chunk_records`` is 1; one message per record
    for the other kinds (master data, trades and EDI sets are few and large). A chunk's
    lines take at most half the record limit: its headers must fit the message too."""
    constant = run.constant_headers()
    if kind in CHUNKED and settings.ingest_chunk_records > 1:
        bound = min(settings.ingest_chunk_bytes, record_limit // 2)
        return ChunkPublisher(
            producer, topic, partitions, constant, run.run_id, tally, settings, bound
        )
    return RecordPublisher(producer, topic, constant, run.run_id, tally)


def keyed(
    source: CsvRecords | XlsxRecords | EdiRecords | ClaimX12Records, kind: str
) -> Iterator[tuple[int, bytes, bytes]]:
    """(line or segment index, partition key, value) of every record of ``source``."""
    if isinstance(source, EdiRecords | ClaimX12Records):
        yield from source
        return
    key_of = keyer(kind, source.columns)
    for line, raw in source:
        yield line, key_of(raw), raw


def ingest_file(
    settings: Settings,
    path: Path,
    kind: Kind,
    *,
    progress: bool = False,
    metrics: Metrics | None = None,
    manifest_at: datetime | None = None,
) -> IngestResult:
    """Publish every record of ``path`` to the raw topic of ``kind``; return the run's counts.

    Raises :class:`IngestError` if the file or a topic is missing, the file has no header,
    or any record (or the manifest) was not delivered. ``manifest_at``: the time of an
    inventory manifest (default: the file's modification time), which orders its versions.
    """
    if kind not in FORMATS:
        raise IngestError(f"unknown ingest kind {kind!r}: expected one of {sorted(FORMATS)}")
    if not path.is_file():
        raise IngestError(f"no such file: {path}")
    logical, record_format, partner = FORMATS[kind]
    topic, manifest_topic = settings.topic(logical), settings.topic(MANIFESTS)
    dlq_topic, outcomes_topic = settings.topic(DLQ), settings.topic(OUTCOMES)
    partitions = require_topics(
        settings,
        topic,
        manifest_topic,
        dlq_topic,
        outcomes_topic,
        *([settings.topic(ACKS_INPUT)] if kind == "edi" else []),
        co_partitioned=settings.topic(partner),
    )
    limit = reaching(settings, lambda: record_limit(settings, topic))

    started_at, t0 = datetime.now(UTC), time.perf_counter()
    sha = file_sha256(path)  # first pass: every record's headers carry it
    run_id = uuid.uuid4().hex
    metrics = metrics or Metrics()
    producer = clients.producer(settings, "ingest", metrics)
    tally = DeliveryTally()
    dead_letters = DeliveryTally()  # of oversized records: DLQ records and outcomes
    oversized = OversizedRecords(
        settings,
        topic,
        record_format,
        limit,
        lambda to, key, value, hs: produce(producer, to, key, value, hs, dead_letters),
        metrics,
    )
    rows_read = 0
    size = path.stat().st_size
    source: CsvRecords | XlsxRecords | EdiRecords | ClaimX12Records
    extra: tuple[tuple[str, bytes], ...] = ()
    if kind == "edi":
        source = EdiRecords(path)
    elif kind == "claims" and is_x12(path):  # 844s, published as rows of the claims CSV
        source, record_format = ClaimX12Records(path), CLAIMS_X12_FORMAT
    elif kind == "inventory" and path.suffix.lower() == ".xlsx":
        source, record_format = XlsxRecords(path), XLSX_FORMAT
    else:
        source = CsvRecords(path)
    if kind == "inventory":
        at = manifest_at or datetime.fromtimestamp(path.stat().st_mtime, UTC)
        extra = ((h.MANIFEST_AT, at.astimezone(UTC).isoformat().encode()),)
    acks = AckRequests(settings, producer, run_id, utc_now_iso())  # X12 only (edi-controls.md)
    with source, _progress(progress, path.name, size) as show:
        run = RunContext(run_id, path.name, sha, record_format, source.header, extra)
        publisher = publisher_of(settings, kind, producer, topic, partitions, run, tally, limit)
        columns = source.columns if not isinstance(source, EdiRecords) else []
        warning = header_warning(kind, path.name, columns)
        constant = run.constant_headers()
        # A record this small fits its message whatever its own headers: only a larger
        # one is measured exactly (with the headers it would be published with alone).
        surely_fits = limit - sum(len(n) + len(v) for n, v in constant) - 1024
        for line, key, raw in keyed(source, kind):
            rows_read += 1
            ingested_at = utc_now_iso()
            if len(key) + len(raw) > surely_fits and oversized.divert(
                line,
                key,
                raw,
                record_headers(constant, run_id, line, ingested_at, new_traceparent()),
            ):
                if isinstance(source, EdiRecords):
                    source.reject_last()
                continue
            publisher.add(line, key, raw, ingested_at)
            if isinstance(source, EdiRecords):
                acks.publish(source.take_acks())
            if rows_read % PROGRESS_EVERY == 0:
                show(source.bytes_read, rows_read)
        publisher.close()
        if isinstance(source, EdiRecords):
            acks.publish(source.take_acks())
        bytes_read = source.bytes_read
        undelivered = producer.flush()
        show(bytes_read, rows_read)

    # The manifest is published even after failures: it is the audit's record of the gap.
    manifest = {
        "run_id": run_id,
        "source_file": path.name,
        "file_sha256": sha,
        "record_format": record_format,
        "topic": topic,
        "rows_read": rows_read,
        "rows_published": tally.delivered,
        "bytes_read": bytes_read,
        "started_at": started_at,
        "finished_at": datetime.now(UTC),
    }
    manifest_tally = DeliveryTally()
    produce(
        producer,
        manifest_topic,
        run_id.encode(),
        avro.encode("ingest_manifest", manifest),
        [(avro.SCHEMA_HEADER, b"ingest_manifest"), (h.RUN_ID, run_id.encode())],
        manifest_tally,
    )
    manifest_undelivered = producer.flush()
    failed = (
        tally.failed
        + undelivered
        + dead_letters.failed
        + manifest_tally.failed
        + manifest_undelivered
    )
    if failed:
        metrics.producer_errors.labels("ingest").inc(failed)

    if tally.failed or undelivered:
        raise IngestError(
            f"{tally.failed + undelivered} of {rows_read} records from {path.name} were not "
            f"delivered to {topic} (first error: {tally.first_error or 'flush left messages'}"
            f"); re-run the ingest (run {run_id})"
        )
    if dead_letters.failed:
        raise IngestError(
            f"{oversized.dead_lettered} record(s) of {path.name} too large to publish were "
            f"not all dead-lettered (first error: {dead_letters.first_error}); re-run the "
            f"ingest (run {run_id})"
        )
    if acks.tally.failed:
        raise IngestError(
            f"{acks.tally.failed} of {acks.published} acknowledgement requests of {path.name} "
            f"were not delivered (first error: {acks.tally.first_error}); re-run the ingest "
            f"(run {run_id}): the requests already sent are not asked twice"
        )
    if manifest_tally.failed or manifest_undelivered:
        raise IngestError(
            f"all {rows_read} records were delivered, but the manifest of run {run_id} was "
            f"not: {manifest_tally.first_error or 'flush left it undelivered'}"
        )
    seconds = time.perf_counter() - t0
    return IngestResult(
        run_id,
        path.name,
        sha,
        record_format,
        topic,
        rows_read,
        tally.delivered,
        bytes_read,
        seconds,
        oversized.dead_lettered,
        (warning,) if warning else (),
    )
