"""Synthetic match and exception events published as the relay would (Avro, schema
header), for the delivery tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from streams.formats import avro
from streams.kafka import clients
from streams.settings import Settings

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def match(pair: str, event: str, seq: int) -> dict[str, Any]:
    return {
        "event_id": f"{pair}:{seq}", "event": event, "pair_id": pair, "group_key": "g1",
        "seq": seq, "trade_id": "T1", "trade_version": 1, "confirm_id": "C1",
        "confirm_version": 1, "match_type": "exact", "quantity_diff": Decimal("0"),
        "price_diff": Decimal("0.010000"), "trade_time_diff_seconds": Decimal("1.5"),
        "reason": None if event == "matched" else "amended", "matched_at": AT, "event_at": AT,
    }  # fmt: skip


def document_match(match_id: str, seq: int) -> dict[str, Any]:
    return {
        "event_id": f"{match_id}:{seq}", "event": "matched", "match_id": match_id,
        "record_type": "invoice", "record_id": "INV-1", "po_number": "PO-1", "line": "1",
        "buyer": "B", "seller": "S", "details": "", "seq": seq, "event_at": AT,
    }  # fmt: skip


def exception(exception_id: str, status: str, seq: int) -> dict[str, Any]:
    return {
        "event_id": f"{exception_id}:{seq}", "exception_id": exception_id, "status": status,
        "kind": "unmatched_trade", "record_type": "trade", "record_id": "T9", "version": 1,
        "buyer": "B", "seller": "S", "product": "power", "partner_type": None,
        "partner_id": None, "partner_version": None,
        "differences": [{"field": "price", "value": "1", "partner_value": "2"}],
        "details": "", "group_key": "g9", "seq": seq, "event_at": AT,
    }  # fmt: skip


def send(settings: Settings, messages: list[tuple[str, str, dict[str, Any] | bytes]]) -> None:
    producer = clients.producer(settings)
    for topic, schema, record in messages:
        value = record if isinstance(record, bytes) else avro.encode(schema, record)
        headers = [(avro.SCHEMA_HEADER, schema.encode())]
        producer.produce(
            settings.topic(topic),
            key=b"k",
            value=value,
            headers=cast("list[tuple[str, str | bytes | None]]", headers),
        )
    assert producer.flush(60) == 0
