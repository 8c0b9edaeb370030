"""Relay handler of the claims outbox (``out`` of the ``ch:`` version documents of the
rebate state and of their ``op:`` pages of line exception events,
``streams/domain/claims/outbox.py``): each entry becomes one message
(docs/claims.md, "Runtime").

- results: canonical JSON on the claim results topic, keyed by ``claim_id:version``; a
  reader keeps the highest ``seq`` of each version;
- exception events: ``match_exception`` records on the exceptions topic (record type
  ``claim``), keyed by exception id, folded by ``seq`` like every exception;
- 849 responses (a claim version that came as an 844, each time it is decided anew): one
  X12 interchange per set of the answer on the claim responses topic, keyed by vendor,
  with its own control number and ``recon-849-part: seq:k/n``; the latest whole answer
  counts;
- settlement entries: ``ledger_entry`` records on the ledger topic (debit
  ``vendor_payable``, credit ``rebate_receivable``), keyed by agreement and period.

Every field comes from the entry or the changelog record, so a re-relayed entry is
byte-identical.

Trace headers (docs/claims.md, "Tracing a claim"): every message names the claim header
row by its correlation id, a line exception its line row too (at most two ids, whatever
the claim's size), with a traceparent that is a child of the header's hop span; results,
settlements, claim disputes and 849s also carry ``recon-claim: claim_id:version``, which
puts them on the path of each of the version's rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from confluent_kafka import Message

from streams.domain.claims.outbox import (
    EXCEPTION,
    OUTBOX_PREFIXES,
    RESPONSE,
    RESULT,
    SETTLEMENT,
)
from streams.domain.claims.refs import LINE_REF, REF
from streams.domain.claims.results import SETTLEMENT_CREDIT, SETTLEMENT_DEBIT
from streams.domain.models.keys import digest
from streams.domain.state import decode
from streams.formats import avro
from streams.formats.x12.claims import interchange
from streams.kafka import topics as t
from streams.relay.ledger import message_time
from streams.relay.matching import EVENT_ID_HEADER, reference_headers
from streams.relay.publish import Publish, RelayHandler
from streams.settings import Settings

TYPE_HEADER = "recon-claim-record"
CLAIM_HEADER = "recon-claim"  # claim_id:version of a claim-level output
PART_HEADER = "recon-849-part"  # seq:k/n of one set of an 849 answer
ZERO = "0"


def claim_of(doc: dict[str, Any]) -> str:
    """The ``recon-claim`` header value of an entry's claim version."""
    return f"{doc['claim_id']}:{doc['version']}"


def trace_headers(
    doc: dict[str, Any], header: Sequence[str] | None, seed: str
) -> list[tuple[str, str | bytes | None]]:
    """The correlation ids an entry names (its line row's first, for a line exception; then
    the header row's) and a traceparent of the header's trace, seeded by ``seed``."""
    refs = [[doc[LINE_REF], ""]] if doc.get(LINE_REF) else []
    if header:
        refs.append(list(header))
    return [*reference_headers(refs, seed)]


def settlement_record(doc: dict[str, Any], created: datetime, correlation_id: str = "") -> bytes:
    return avro.encode(
        "ledger_entry",
        {
            "entry_id": doc["entry_id"],
            "agreement_id": doc["agreement_id"],
            "vendor_id": doc["vendor_id"],
            "period": doc["period"],
            "kind": doc["kind"],
            "amount": Decimal(doc["amount"]),
            "currency": doc["currency"],
            "debit_account": SETTLEMENT_DEBIT,
            "credit_account": SETTLEMENT_CREDIT,
            "measure": Decimal(ZERO),
            "posted_total": Decimal(doc["settled_total"]),
            "source_key": doc["source_key"],
            "source_file": f"claim {doc['claim_id']} version {doc['version']}",
            "source_line": 0,
            "correlation_id": correlation_id,
            "created_at": created,
        },
    )


def event_id(doc: dict[str, Any]) -> str:
    return digest("claim-event", doc["exception_id"], doc["seq"])


def exception_record(doc: dict[str, Any], created: datetime) -> bytes:
    return avro.encode(
        "match_exception",
        {
            "event_id": event_id(doc),
            "exception_id": doc["exception_id"],
            "status": "open" if doc["open"] else "resolved",
            "kind": doc["kind"],
            "record_type": "claim",
            "record_id": doc["claim_id"],
            "version": doc["version"],
            "buyer": "",
            "seller": doc["vendor_id"],
            "product": doc["sale_key"],
            "differences": [],
            "details": doc["details"],
            "group_key": doc["vendor_id"],
            "seq": doc["seq"],
            "event_at": created,
        },
    )


def publish_of(
    settings: Settings,
    doc: dict[str, Any],
    created: datetime,
    header: Sequence[str] | None = None,
) -> Publish:
    """The message of one outbox entry; ``header`` is the version's header row reference
    (``refs.REF`` of its document), None before its header arrived."""
    kind = doc["type"]
    claim = (CLAIM_HEADER, claim_of(doc).encode())
    if kind == SETTLEMENT:
        key = f"{doc['agreement_id']}|{doc['period']}".encode()
        headers: list[tuple[str, str | bytes | None]] = [
            (avro.SCHEMA_HEADER, b"ledger_entry"),
            ("recon-entry-id", doc["entry_id"].encode()),
            claim,
            *trace_headers(doc, header, doc["entry_id"]),
        ]
        value = settlement_record(doc, created, header[0] if header else "")
        return Publish(settings.topic(t.LEDGER), key, value, headers)
    if kind == EXCEPTION:
        eid = event_id(doc)
        headers = [
            (avro.SCHEMA_HEADER, b"match_exception"),
            (EVENT_ID_HEADER, eid.encode()),
            *([] if doc["sale_key"] else [claim]),  # a line exception is its line's
            *trace_headers(doc, header, eid),
        ]
        value = exception_record(doc, created)
        return Publish(settings.topic(t.EXCEPTIONS), doc["exception_id"].encode(), value, headers)
    seed = f"{kind}:{claim_of(doc)}:{doc['seq']}"
    if kind == RESPONSE:
        control = int(doc["control"])
        value = interchange([doc["segments"]], receiver=doc["vendor_id"][:15], control=control)
        key = doc["vendor_id"].encode()
        part, parts = doc["part"]
        headers = [
            (TYPE_HEADER, b"claim_849"),
            claim,
            (PART_HEADER, f"{doc['seq']}:{part}/{parts}".encode()),
            *trace_headers(doc, header, seed if parts == 1 else f"{seed}:{part}"),
        ]
        return Publish(settings.topic(t.CLAIM_RESPONSES), key, value, headers)
    assert kind == RESULT, kind
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    headers = [(TYPE_HEADER, b"claim_result"), claim, *trace_headers(doc, header, seed)]
    return Publish(settings.topic(t.CLAIM_RESULTS), claim_of(doc).encode(), body, headers)


def claims_publishes(settings: Settings) -> RelayHandler:
    prefixes = tuple(p.encode() for p in OUTBOX_PREFIXES)

    def handle(msg: Message) -> list[Publish]:
        key, value = msg.key(), msg.value()
        if not key or not value or not key.startswith(prefixes):
            return []
        created = message_time(msg)  # deterministic: a re-relayed entry is identical
        row = decode(value)
        header = row.get(REF)
        return [publish_of(settings, doc, created, header) for doc in row.get("out", [])]

    return handle
