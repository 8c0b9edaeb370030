"""Relay handler of the claims outbox (``out`` of the ``ch:`` version documents of the
rebate state, ``streams/domain/claims/outbox.py``): each entry becomes one message
(docs/claims.md, "Runtime").

- results: canonical JSON on the claim results topic, keyed by ``claim_id:version``; a
  reader keeps the highest ``seq`` of each version;
- exception events: ``match_exception`` records on the exceptions topic (record type
  ``claim``), keyed by exception id, folded by ``seq`` like every exception;
- 849 responses (a claim version that came as an 844, each time it is decided anew): one
  X12 interchange on the claim responses topic, keyed by vendor; the latest counts;
- settlement entries: ``ledger_entry`` records on the ledger topic (debit
  ``vendor_payable``, credit ``rebate_receivable``), keyed by agreement and period.

Every field comes from the entry or the changelog record, so a re-relayed entry is
byte-identical.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from confluent_kafka import Message

from streams.domain.claims.outbox import EXCEPTION, OUTBOX_PREFIX, RESPONSE, RESULT, SETTLEMENT
from streams.domain.claims.results import SETTLEMENT_CREDIT, SETTLEMENT_DEBIT
from streams.domain.models.keys import digest
from streams.domain.state import decode
from streams.formats import avro
from streams.formats.x12.claims import interchange
from streams.kafka import topics as t
from streams.relay.ledger import message_time
from streams.relay.matching import EVENT_ID_HEADER
from streams.relay.publish import Publish, RelayHandler
from streams.settings import Settings

TYPE_HEADER = "recon-claim-record"
CLAIM_HEADER = "recon-claim"  # claim_id:version of an 849
ZERO = "0"


def settlement_record(doc: dict[str, Any], created: datetime) -> bytes:
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
            "correlation_id": "",
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


def publish_of(settings: Settings, doc: dict[str, Any], created: datetime) -> Publish:
    kind = doc["type"]
    if kind == SETTLEMENT:
        key = f"{doc['agreement_id']}|{doc['period']}".encode()
        headers: list[tuple[str, str | bytes | None]] = [
            (avro.SCHEMA_HEADER, b"ledger_entry"),
            ("recon-entry-id", doc["entry_id"].encode()),
        ]
        return Publish(settings.topic(t.LEDGER), key, settlement_record(doc, created), headers)
    if kind == EXCEPTION:
        headers = [
            (avro.SCHEMA_HEADER, b"match_exception"),
            (EVENT_ID_HEADER, event_id(doc).encode()),
        ]
        value = exception_record(doc, created)
        return Publish(settings.topic(t.EXCEPTIONS), doc["exception_id"].encode(), value, headers)
    if kind == RESPONSE:
        control = int(doc["seq"]) % 1_000_000_000 or 1
        value = interchange([doc["segments"]], receiver=doc["vendor_id"][:15], control=control)
        key = doc["vendor_id"].encode()
        headers = [
            (TYPE_HEADER, b"claim_849"),
            (CLAIM_HEADER, f"{doc['claim_id']}:{doc['version']}".encode()),
        ]
        return Publish(settings.topic(t.CLAIM_RESPONSES), key, value, headers)
    assert kind == RESULT, kind
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    key = f"{doc['claim_id']}:{doc['version']}".encode()
    return Publish(settings.topic(t.CLAIM_RESULTS), key, body, [(TYPE_HEADER, b"claim_result")])


def claims_publishes(settings: Settings) -> RelayHandler:
    prefix = OUTBOX_PREFIX.encode()

    def handle(msg: Message) -> list[Publish]:
        key, value = msg.key(), msg.value()
        if not key or not value or not key.startswith(prefix):
            return []
        created = message_time(msg)  # deterministic: a re-relayed entry is identical
        return [publish_of(settings, doc, created) for doc in decode(value).get("out", [])]

    return handle
