"""Ledger entries from the rebate state's posting rows: what the relay publishes to the
ledger topic for each changelog record of the rebate table."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from confluent_kafka import Message

from streams.domain.accrual.postings import Posting, posting_from_json
from streams.domain.state import decode
from streams.formats.records import ledger_message
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.observability.tracing import seconds_since
from streams.relay.publish import Publish, RelayHandler
from streams.settings import Settings

log = logging.getLogger(__name__)


def message_time(msg: Message) -> datetime:
    _, ts = msg.timestamp()
    return datetime.fromtimestamp(ts / 1000, UTC)


def ledger_observer(metrics: Metrics, p: Posting) -> Callable[[], None]:
    """What to record once the entry of ``p`` is delivered."""

    def delivered() -> None:
        metrics.child(metrics.ledger_posted, p.currency).inc(float(p.amount))
        metrics.child(metrics.ledger_entries, p.currency, p.kind.value).inc()
        latency = seconds_since(p.ingested_at)
        if latency is not None:
            metrics.child(metrics.latency, "ledger").observe(latency)

    return delivered


def ledger_publishes(settings: Settings, metrics: Metrics) -> RelayHandler:
    """Posting rows (``p:`` keys) carry the ledger entries of the write in ``out``.

    Entries carry the correlation id of the record that triggered them and a traceparent
    that is a child of the agent's span (the relay is one more hop)."""
    ledger = settings.topic(t.LEDGER)

    def handle(msg: Message) -> list[Publish]:
        key, value = msg.key(), msg.value()
        if not key or not value or not key.startswith(b"p:"):
            return []
        created = message_time(msg)  # deterministic: a re-relayed entry is identical
        out = []
        for doc in decode(value).get("out", []):
            p = posting_from_json(doc)
            key, value, headers = ledger_message(p, created)
            out.append(Publish(ledger, key, value, list(headers), ledger_observer(metrics, p)))
        return out

    return handle
