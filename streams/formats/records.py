"""Building the records the pipelines publish: outcomes, DLQ entries, master data, ledger
entries; and the engine's reference to the record it decides."""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams.domain.accrual.postings import Posting, RecordRef
from streams.domain.models.outcome import Outcome
from streams.domain.models.promotion import Agreement
from streams.errors import Category, RecordError, Stage
from streams.formats import avro
from streams.formats import headers as h
from streams.observability.tracing import child_of

HeaderList = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Source:
    """A raw record as it came off its topic, with the fields its headers carry."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    # The traceparent of this hop's outputs (a child span of the record's); one per record,
    # so every output of one decision shares it. Empty: derived on use.
    hop: str = ""
    timestamp: int = 0  # the message's timestamp, microseconds since the epoch
    # The headers as they came, for a stage that forwards a record untouched.
    raw_headers: tuple[tuple[str, bytes], ...] = ()
    index: int = 0  # among the records of a chunked message (streams.formats.chunks)

    @property
    def correlation_id(self) -> str:
        # Records produced by other tools may lack our headers: fall back to the position.
        return self.headers.get(h.CORRELATION_ID) or f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def source_file(self) -> str:
        return self.headers.get(h.SOURCE_FILE, self.topic)

    @property
    def line(self) -> int:
        text = self.headers.get(h.LINE, "")
        return int(text) if text.isdigit() else self.offset

    @property
    def file_sha256(self) -> str:
        return self.headers.get(h.FILE_SHA256, "")

    @property
    def record_format(self) -> str:
        return self.headers.get(h.FORMAT, "unknown")

    @property
    def attempts(self) -> int:
        text = self.headers.get(h.ATTEMPTS, "")
        return int(text) if text.isdigit() else 1

    @property
    def ingested_at(self) -> str:
        return self.headers.get(h.INGESTED_AT, "")

    @property
    def hop_traceparent(self) -> str:
        return self.hop or child_of(self.headers.get(h.TRACEPARENT))

    def trace_headers(self, schema: str) -> HeaderList:
        return [
            (avro.SCHEMA_HEADER, schema.encode()),
            (h.CORRELATION_ID, self.correlation_id.encode()),
            (h.TRACEPARENT, self.hop_traceparent.encode()),
        ]


def source_of_message(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    raw_headers: Iterable[tuple[str, bytes]] | None,
    timestamp_ms: int = 0,
) -> Source:
    """A consumed message as a pipeline sees it: its headers decoded once, the traceparent
    of this hop drawn once."""
    pairs = tuple(raw_headers or ())
    headers = h.to_dict(pairs)
    return Source(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value or b"",
        headers=headers,
        hop=child_of(headers.get(h.TRACEPARENT)),
        timestamp=timestamp_ms * 1000,
        raw_headers=pairs,
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def outcome_record(src: Source, outcome: Outcome, idempotency_key: str | None) -> bytes:
    return revised_outcome_record(
        src.correlation_id,
        src.source_file,
        src.file_sha256,
        src.line,
        src.record_format,
        outcome,
        idempotency_key,
    )


def revised_outcome_record(
    correlation_id: str,
    source_file: str,
    file_sha256: str,
    line: int,
    record_format: str,
    outcome: Outcome,
    idempotency_key: str | None,
) -> bytes:
    """An outcome record; called directly, the new outcome of an earlier record, decided
    while processing another one."""
    return avro.encode(
        "outcome",
        {
            "correlation_id": correlation_id,
            "source_file": source_file,
            "file_sha256": file_sha256,
            "source_line": line,
            "record_format": record_format,
            "outcome": outcome.value,
            "idempotency_key": idempotency_key,
            "decided_at": now_utc(),
        },
    )


def outcome_batch_record(
    src: Source,
    correlation_ids: list[str],
    lines: list[int],
    outcomes: list[str],
    idempotency_keys: list[str | None],
) -> bytes:
    """The outcomes of the records of one chunked message ``src``, line by line."""
    return avro.encode(
        "outcome_batch",
        {
            "source_file": src.source_file,
            "file_sha256": src.file_sha256,
            "record_format": src.record_format,
            "correlation_ids": correlation_ids,
            "source_lines": lines,
            "outcomes": outcomes,
            "idempotency_keys": idempotency_keys,
            "decided_at": now_utc(),
        },
    )


def outcomes_of(value: bytes, schema: str | None) -> list[dict[str, Any]]:
    """The per-record outcomes an ``outcomes`` message holds, each in the ``outcome``
    shape: one for an ``outcome`` record, one per line for an ``outcome_batch``."""
    if schema != "outcome_batch":
        return [avro.decode("outcome", value)]
    batch = avro.decode("outcome_batch", value)
    common = {
        "source_file": batch["source_file"],
        "file_sha256": batch["file_sha256"],
        "record_format": batch["record_format"],
        "decided_at": batch["decided_at"],
    }
    return [
        {
            **common,
            "correlation_id": cid,
            "source_line": line,
            "outcome": outcome,
            "idempotency_key": idem,
        }
        for cid, line, outcome, idem in zip(
            batch["correlation_ids"],
            batch["source_lines"],
            batch["outcomes"],
            batch["idempotency_keys"],
            strict=True,
        )
    ]


def describe_unexpected(exc: BaseException) -> str:
    """A one-paragraph stack summary for a poison pill: type, message, innermost frames."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(
        f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})" for f in reversed(frames)
    )
    return f"unexpected {type(exc).__name__}: {exc} at {where}"


# An error names the offending value, which may be most of a huge record: cut, so the DLQ
# record stays within the message limit (the original bytes are in it anyway).
ERROR_TEXT_MAX = 2000


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` - 1 characters and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dlq_record(src: Source, error: RecordError, message: str | None = None) -> tuple[str, bytes]:
    # A record dead-lettered at ingest never reached its topic (offset -1): its correlation
    # id, unique per run and line, takes the place of the position.
    position = (
        f"{src.topic}:{src.partition}:{src.offset}"
        if src.offset >= 0
        else f"{src.topic}:{src.correlation_id}"
    )
    if src.index:
        position += f"/{src.index}"
    dlq_id = hashlib.sha256(f"{position}:{src.attempts}".encode()).hexdigest()[:32]
    first_seen = src.headers.get("recon-first-seen")
    record: dict[str, Any] = {
        "dlq_id": dlq_id,
        "category": error.category.value,
        "severity": "error",
        "stage": error.stage.value,
        "error": cut(message or error.message, ERROR_TEXT_MAX),
        "field": error.field,
        "source_topic": src.topic,
        "source_partition": src.partition,
        "source_offset": src.offset,
        "source_file": src.source_file,
        "source_line": src.line,
        "file_sha256": src.file_sha256,
        "record_format": src.record_format,
        "correlation_id": src.correlation_id,
        "first_seen": datetime.fromisoformat(first_seen) if first_seen else now_utc(),
        "attempts": src.attempts,
        "original": src.value,
        "original_key": src.key,
        "original_headers": src.headers,
        "source_index": src.index,
    }
    return dlq_id, avro.encode("dlq_record", record)


def agreement_record(agr: Agreement, version_key: str) -> bytes:
    return avro.encode(
        "agreement",
        {
            "agreement_id": agr.agreement_id,
            "vendor_id": agr.vendor_id,
            "skus": list(agr.skus),
            "start_date": agr.start_date,
            "end_date": agr.end_date,
            "basis": agr.basis.value,
            "period": agr.period.value,
            "tier_method": agr.tier_method.value,
            "tiers": [{"threshold": t.threshold, "rate": t.rate} for t in agr.tiers],
            "currency": agr.currency,
            "version_key": version_key,
        },
    )


def record_ref(src: Source) -> RecordRef:
    """What the rebate engine keeps of the record it decides (positions, trace)."""
    return RecordRef(
        src.correlation_id,
        src.offset,
        src.source_file,
        src.line,
        traceparent=src.hop_traceparent,
        ingested_at=src.ingested_at,
        topic=src.topic,
        partition=src.partition,
        index=src.index,
    )


def poison_pill(exc: BaseException) -> RecordError:
    """An unexpected error on one record: dead-lettered with a stack summary."""
    return RecordError(Category.PROCESSING_ERROR, Stage.COMPUTE, describe_unexpected(exc))


def dead_letter_message(src: Source, err: RecordError) -> tuple[bytes, bytes, HeaderList]:
    """Key, value and headers of the DLQ record of ``src`` (original bytes, category,
    position, trace headers)."""
    dlq_id, payload = dlq_record(src, err)
    headers = [*src.trace_headers("dlq_record"), ("recon-dlq-id", dlq_id.encode())]
    return src.correlation_id.encode(), payload, headers


DEBIT = "rebate_receivable"
CREDIT = "cogs_vendor_rebates"


def ledger_record(p: Posting, created_at: datetime) -> bytes:
    return avro.encode(
        "ledger_entry",
        {
            "entry_id": p.entry_id,
            "agreement_id": p.agreement_id,
            "vendor_id": p.vendor_id,
            "period": p.period,
            "kind": p.kind.value,
            "amount": p.amount,
            "currency": p.currency,
            "debit_account": DEBIT,
            "credit_account": CREDIT,
            "measure": p.measure,
            "posted_total": p.posted_total,
            "source_key": p.source_key,
            "source_file": p.source_file,
            "source_line": p.source_line,
            "correlation_id": p.correlation_id,
            "created_at": created_at,
            "records": p.records,
            "source_topic": p.source_topic,
            "source_partition": p.source_partition,
            "first_offset": p.first_offset,
            "last_offset": p.last_offset,
        },
    )


def ledger_message(p: Posting, created_at: datetime) -> tuple[bytes, bytes, HeaderList]:
    """Key, value and headers of the ledger entry of ``p``: keyed by (agreement, period),
    a traceparent that is a child of the deciding hop's span (one more hop)."""
    headers = [
        (avro.SCHEMA_HEADER, b"ledger_entry"),
        (h.CORRELATION_ID, p.correlation_id.encode()),
        (h.TRACEPARENT, child_of(p.traceparent, seed=p.entry_id).encode()),
        ("recon-entry-id", p.entry_id.encode()),
    ]
    return f"{p.agreement_id}|{p.period}".encode(), ledger_record(p, created_at), headers
