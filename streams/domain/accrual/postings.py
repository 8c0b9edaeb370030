"""Ledger postings: what a posting row's outbox holds, and how entries are identified."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any


class EntryKind(StrEnum):
    ACCRUAL = "accrual"
    TRUE_UP = "true_up"
    REVERSAL = "reversal"
    RE_RATE = "re_rate"


POSITION_BITS = 16  # a message holds at most 2**16 records (see ``RecordRef.position``)


@dataclass(frozen=True)
class RecordRef:
    """Where a record came from: the offset of its message in one source partition and its
    index among the records of that message (0 for a message of one record)."""

    record_id: str
    offset: int
    source_file: str = ""
    line: int = 0
    traceparent: str = ""  # of the hop that decided the record: ledger entries are its children
    ingested_at: str = ""  # ISO 8601, for end-to-end latency
    topic: str = ""
    partition: int = -1
    index: int = 0

    @property
    def position(self) -> int:
        """Orders records within one source partition, across and within messages: what
        state rows are stamped with (docs/design.md, "At-least-once delivery")."""
        return position(self.offset, self.index)


def position(offset: int, index: int) -> int:
    return (offset << POSITION_BITS) | index


@dataclass(frozen=True)
class Posting:
    entry_id: str
    agreement_id: str
    vendor_id: str
    period: str
    kind: EntryKind
    amount: Decimal
    currency: str
    measure: Decimal
    posted_total: Decimal
    source_key: str
    source_file: str = ""
    source_line: int = 0
    correlation_id: str = ""
    traceparent: str = ""
    ingested_at: str = ""
    # What the entry covers: how many records, and their positions in one source partition
    # (the records' offsets run from first to last; a sale in between may concern another
    # agreement).
    records: int = 1
    source_topic: str = ""
    source_partition: int = -1
    first_offset: int = -1
    last_offset: int = -1


def posting_to_json(p: Posting) -> dict[str, str]:
    return {
        "entry_id": p.entry_id,
        "agreement_id": p.agreement_id,
        "vendor_id": p.vendor_id,
        "period": p.period,
        "kind": p.kind.value,
        "amount": str(p.amount),
        "currency": p.currency,
        "measure": str(p.measure),
        "posted_total": str(p.posted_total),
        "source_key": p.source_key,
        "source_file": p.source_file,
        "source_line": str(p.source_line),
        "correlation_id": p.correlation_id,
        "traceparent": p.traceparent,
        "ingested_at": p.ingested_at,
        "records": str(p.records),
        "source_topic": p.source_topic,
        "source_partition": str(p.source_partition),
        "first_offset": str(p.first_offset),
        "last_offset": str(p.last_offset),
    }


def posting_from_json(doc: dict[str, str]) -> Posting:
    return Posting(
        entry_id=doc["entry_id"],
        agreement_id=doc["agreement_id"],
        vendor_id=doc["vendor_id"],
        period=doc["period"],
        kind=EntryKind(doc["kind"]),
        amount=Decimal(doc["amount"]),
        currency=doc["currency"],
        measure=Decimal(doc["measure"]),
        posted_total=Decimal(doc["posted_total"]),
        source_key=doc["source_key"],
        source_file=doc["source_file"],
        source_line=int(doc["source_line"]),
        correlation_id=doc["correlation_id"],
        # absent from rows written before tracing was added
        traceparent=doc.get("traceparent", ""),
        ingested_at=doc.get("ingested_at", ""),
        records=int(doc.get("records", "1")),
        source_topic=doc.get("source_topic", ""),
        source_partition=int(doc.get("source_partition", "-1")),
        first_offset=int(doc.get("first_offset", "-1")),
        last_offset=int(doc.get("last_offset", "-1")),
    )


def entry_id(trigger_key: str, agreement_id: str, period: str, currency: str, seq: int) -> str:
    """Deterministic: the same posting-row write always gives the same id (a re-relayed
    changelog record). ``seq`` is the row's write sequence: a record reprocessed after a
    crash in a state that has moved on (a later sale's aggregate already durable) can post
    a different amount than its first time, and that must be a new entry, not a second
    version of the first one."""
    ident = f"{trigger_key}:{agreement_id}:{period}:{currency}:{seq}"
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]


def merge_outbox(older: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    """For write-behind state: a posting row written twice before a flush keeps the entries
    of both writes in its outbox, in order (the relay publishes what the flushed row holds).
    """
    if "out" in older and "out" in newer:
        return {**newer, "out": older["out"] + newer["out"]}
    return newer
