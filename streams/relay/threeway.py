"""Messages of the three-way table's outbox entries (``o:`` rows), for the shared relay handler.

Match events go to ``matches`` as ``document_match``; exceptions to ``exceptions`` as
``match_exception`` (the same schema as trade matching, so `recon exceptions export` lists
both). Entries are JSON in the state; a re-relayed entry encodes to the same bytes.
"""

from __future__ import annotations

from typing import Any

from streams.domain.threeway.engine import MATCHES
from streams.formats import avro
from streams.kafka import topics as t
from streams.relay.matching import EVENT_ID_HEADER, instant, reference_headers
from streams.relay.publish import Publish
from streams.settings import Settings


def document_match_record(doc: dict[str, Any]) -> bytes:
    return avro.encode(
        "document_match",
        {
            "event_id": doc["event_id"],
            "event": doc["event"],
            "match_id": doc["id"],
            "record_type": doc["record_type"],
            "record_id": doc["record_id"],
            "po_number": doc["po"],
            "line": doc["line"],
            "buyer": doc["buyer"],
            "seller": doc["seller"],
            "details": doc["details"],
            "seq": doc["seq"],
            "event_at": instant(doc["event_at"]),
        },
    )


def exception_record(doc: dict[str, Any]) -> bytes:
    return avro.encode(
        "match_exception",
        {
            "event_id": doc["event_id"],
            "exception_id": doc["id"],
            "status": doc["status"],
            "kind": doc["kind"],
            "record_type": doc["record_type"],
            "record_id": doc["record_id"],
            "version": 1,  # X12 documents carry no version: duplicates are by control number
            "buyer": doc["buyer"],
            "seller": doc["seller"],
            "product": doc["line"],
            "partner_type": doc["partner_type"],
            "partner_id": doc["partner_id"],
            "partner_version": None,
            "differences": [
                {"field": f, "value": mine, "partner_value": theirs}
                for f, mine, theirs in doc["differences"]
            ],
            "details": doc["details"],
            "group_key": doc["po"],
            "seq": doc["seq"],
            "event_at": instant(doc["event_at"]),
        },
    )


def publish_of(settings: Settings, entry: dict[str, Any]) -> Publish:
    doc, key = entry["doc"], entry["key"].encode()
    event_id = (EVENT_ID_HEADER, doc["event_id"].encode())
    # the invoice (or 210) first, then the PO and ship notices the result rests on
    trace = reference_headers(doc.get("refs", []), doc["event_id"])
    if entry["to"] == MATCHES:
        headers = [(avro.SCHEMA_HEADER, b"document_match"), event_id, *trace]
        return Publish(settings.topic(t.MATCHES), key, document_match_record(doc), headers)
    headers = [(avro.SCHEMA_HEADER, b"match_exception"), event_id, *trace]
    return Publish(settings.topic(t.EXCEPTIONS), key, exception_record(doc), headers)
