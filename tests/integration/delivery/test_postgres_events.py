"""Match and exception events into PostgreSQL: one row per event id whatever the copies,
and views that fold each pair, document match and exception by its highest seq, whatever
the arrival order; an event with an unknown schema header is dead-lettered."""

from __future__ import annotations

import psycopg
import pytest

from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.ops.dlq import dlq_records
from streams.settings import Settings
from tests.integration.delivery.event_feed import AT, document_match, exception, match, send
from tests.integration.delivery.ledger_feed import postings, publish, wait_until
from tests.integration.delivery.test_postgres import loop_for, query, rows

pytestmark = pytest.mark.integration


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
