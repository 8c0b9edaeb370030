"""Relay handlers of the matching tables: outbox entries in, messages out.

Record rows (``r:``) carry match-input messages and duplicate-conflict exceptions; group
rows (``g:``) carry match and exception events. Entries are JSON in the state; the Avro
records are built here, so a re-relayed entry always encodes to the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from confluent_kafka import Message

from streams.domain.matching import messages as m
from streams.domain.state import decode
from streams.formats import avro
from streams.formats import headers as h
from streams.kafka import topics as t
from streams.observability.tracing import child_of, parse
from streams.relay.publish import Publish, RelayHandler
from streams.settings import Settings

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_ID_HEADER = "recon-event-id"


def instant(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def reference_headers(refs: Iterable[Sequence[str]], seed: str) -> h.HeaderList:
    """The trace headers of an event: one correlation id per record it concerns (Kafka
    allows a header name more than once), and a traceparent that is a child of the first
    record's hop span, seeded by ``seed`` (the event id) so a re-relayed copy is
    byte-identical. Rows written before trace propagation have no ids: no header then,
    rather than a made-up trace."""
    out: h.HeaderList = []
    parent = ""
    for cid, traceparent in refs:
        if cid and (h.CORRELATION_ID, cid.encode()) not in out:
            out.append((h.CORRELATION_ID, cid.encode()))
        parent = parent or traceparent
    if parse(parent) is not None:
        out.append((h.TRACEPARENT, child_of(parent, seed=seed).encode()))
    return out


def match_record(doc: dict[str, Any]) -> bytes:
    record = dict(doc)
    record["quantity_diff"] = Decimal(doc["quantity_diff"])
    record["price_diff"] = Decimal(doc["price_diff"])
    record["trade_time_diff_seconds"] = Decimal(doc["trade_time_diff_micros"]).scaleb(-6)
    record["matched_at"] = instant(doc["matched_at"])
    record["event_at"] = instant(doc["event_at"])
    return avro.encode("match", record)


def exception_record(doc: dict[str, Any]) -> bytes:
    return avro.encode("match_exception", {**doc, "event_at": instant(doc["event_at"])})


def publish_of(settings: Settings, entry: dict[str, Any]) -> Publish:
    to, key, doc = entry["to"], entry["key"].encode(), entry["doc"]
    if to == m.INPUT:
        value = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        seed = hashlib.sha256(value).hexdigest()  # the message has no id: its content is one
        trace = reference_headers([(doc.get("c", ""), doc.get("tp", ""))], seed)
        return Publish(settings.topic(t.MATCH_INPUT), key, value, [*trace])
    event_id = doc["event_id"]
    trace = reference_headers(doc.get("refs", []), event_id)
    if to == m.MATCHES:
        headers = [(avro.SCHEMA_HEADER, b"match"), (EVENT_ID_HEADER, event_id.encode()), *trace]
        return Publish(settings.topic(t.MATCHES), key, match_record(doc), headers)
    headers = [
        (avro.SCHEMA_HEADER, b"match_exception"),
        (EVENT_ID_HEADER, event_id.encode()),
        *trace,
    ]
    return Publish(settings.topic(t.EXCEPTIONS), key, exception_record(doc), headers)


def outbox_publishes(
    settings: Settings,
    prefix: bytes,
    publish: Callable[[Settings, dict[str, Any]], Publish] = publish_of,
) -> RelayHandler:
    """Rows whose key starts with ``prefix`` carry the outputs of their write in ``out``;
    ``publish`` turns one entry into its message (the three-way match has its own)."""

    def handle(msg: Message) -> list[Publish]:
        key, value = msg.key(), msg.value()
        if not key or not value or not key.startswith(prefix):
            return []
        return [publish(settings, entry) for entry in decode(value).get("out", [])]

    return handle
