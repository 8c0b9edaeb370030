"""Messages of the acknowledgement table's outbox entries (``p:`` rows).

An ``acks`` entry is rendered here as X12 (997, 999 or TA1) and published to ``acks``,
keyed by partner, with headers naming its type, control number and the file it answers;
rendering is deterministic (the entry holds the request, the control number and the time),
so a re-relayed entry is byte-identical. Exception entries (``ack_overdue``,
``ack_rejected``) go to ``exceptions`` like the three-way match's.
"""

from __future__ import annotations

from typing import Any

from streams.domain.acks import ACKS
from streams.formats import headers as h
from streams.formats.x12.ack_x12 import render_functional_ack, render_ta1
from streams.kafka import topics as t
from streams.relay import threeway
from streams.relay.publish import Publish
from streams.settings import Settings

ACK_TYPE = "recon-ack-type"
ACK_CONTROL = "recon-ack-control"
ACK_REQUEST = "recon-ack-request"


def render(doc: dict[str, Any]) -> bytes:
    request, control, at = doc["request"], doc["control"], doc["at"]
    if doc["type"] == "TA1":
        return render_ta1(request, control, at)
    return render_functional_ack(request, control, at)


def publish_of(settings: Settings, entry: dict[str, Any]) -> Publish:
    if entry["to"] != ACKS:
        return threeway.publish_of(settings, entry)
    doc = entry["doc"]
    headers: list[tuple[str, str | bytes | None]] = [
        (ACK_TYPE, doc["type"].encode()),
        (ACK_CONTROL, str(doc["control"]).encode()),
        (ACK_REQUEST, doc["request"]["id"].encode()),
        (h.SOURCE_FILE, str(doc["request"].get("source", "")).encode()),
    ]
    return Publish(settings.topic(t.ACKS), entry["key"].encode(), render(doc), headers)
