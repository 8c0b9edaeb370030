"""Relay handler of the claims outbox rows (``co:`` keys of the rebate state): each entry
becomes one JSON message on the claim results topic, keyed by ``claim_id:version``.

Results, exception events and settlement entries share the topic, told apart by
``type``; readers fold results and exceptions by their ``seq``, settlements by
``entry_id`` (docs/claims.md, "Runtime"). The JSON is canonical (sorted keys), so a
re-relayed entry is byte-identical.
"""

from __future__ import annotations

import json

from confluent_kafka import Message

from streams.domain.claims.outbox import OUTBOX_PREFIX
from streams.domain.state import decode
from streams.kafka import topics as t
from streams.relay.publish import Publish, RelayHandler
from streams.settings import Settings

TYPE_HEADER = "recon-claim-record"


def claims_publishes(settings: Settings) -> RelayHandler:
    results = settings.topic(t.CLAIM_RESULTS)
    prefix = OUTBOX_PREFIX.encode()

    def handle(msg: Message) -> list[Publish]:
        key, value = msg.key(), msg.value()
        if not key or not value or not key.startswith(prefix):
            return []
        out = []
        for doc in decode(value).get("out", []):
            body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
            record_key = f"{doc['claim_id']}:{doc['version']}".encode()
            out.append(Publish(results, record_key, body, [(TYPE_HEADER, doc["type"].encode())]))
        return out

    return handle
