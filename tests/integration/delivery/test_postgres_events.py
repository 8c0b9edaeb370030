"""Match and exception events into PostgreSQL: one row per event id whatever the copies,
and views that fold each pair, document match and exception by its highest seq, whatever
the arrival order; an event with an unknown schema header is dead-lettered."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import psycopg
import pytest

from streams.formats import avro
from streams.kafka import clients
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.ops.dlq import dlq_records
from streams.settings import Settings
from tests.integration.delivery.ledger_feed import postings, publish, wait_until
from tests.integration.delivery.test_postgres import loop_for, query, rows

pytestmark = pytest.mark.integration

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


def test_events_fold_by_seq_once_each_whatever_the_order(delivery_settings: Settings) -> None:
    settings = delivery_settings
    t.create_topics(settings)
    publish(settings, postings(50, seed=41))
    events = [
        (t.MATCHES, "match", match("P1", "unmatched", 2)),  # the later event first
        (t.MATCHES, "match", match("P1", "matched", 1)),
        (t.MATCHES, "match", match("P2", "matched", 1)),
        (t.MATCHES, "document_match", document_match("M1", 1)),
        (t.EXCEPTIONS, "match_exception", exception("X1", "resolved", 2)),
        (t.EXCEPTIONS, "match_exception", exception("X1", "open", 1)),
        (t.EXCEPTIONS, "match_exception", exception("X2", "open", 1)),
    ]
    send(settings, events + events[:4])  # copies: a relay replay
    send(settings, [(t.MATCHES, "ledger_entry", b"not an event")])
    loop = loop_for(settings, Metrics())

    def delivered() -> bool:
        try:
            (n,) = query(settings, "SELECT count(*) FROM {schema}.match_events")[0]
        except psycopg.errors.UndefinedTable:  # the tables are created at the loop's start
            return False
        return n == 4 and rows(settings) == 50

    wait_until(delivered, 120, "the events in PostgreSQL")
    wait_until(lambda: len(list(dlq_records(settings))) == 1, 60, "the bad event's DLQ record")
    loop.stop()

    assert query(settings, "SELECT count(*) FROM {schema}.exception_events") == [(3,)]
    live = query(settings, "SELECT kind, subject_id FROM {schema}.live_matches ORDER BY 2")
    assert live == [("document_match", "M1"), ("match", "P2")]
    open_ = query(settings, "SELECT exception_id FROM {schema}.open_exceptions")
    assert open_ == [("X2",)]
    (record,) = query(settings, "SELECT record FROM {schema}.match_events WHERE event_id = 'P2:1'")[
        0
    ]
    assert record["price_diff"] == "0.010000" and record["matched_at"] == AT.isoformat()
    (dead,) = list(dlq_records(settings))
    assert dead["category"] == "parse_error" and dead["stage"] == "sink"
    assert "names no match event" in dead["error"]
    assert bytes(dead["original"]) == b"not an event"
