"""The schemas topic: every schema version a record on our topics may have been written
with, keyed by its fingerprint, so a consumer can find the writer schema of any
single-object-encoded record without a registry (docs/data-contract.md).

Key: the 16 hex digits of the 8 fingerprint bytes as they follow the marker in a record.
Value: the schema's JSON as written in its .avsc file (logical types and docs included,
which the fingerprint's canonical form leaves out). Header ``recon-schema``: the file
stem. The topic is compacted, so republishing (every ``recon topics create`` and every
worker start) keeps one record per version.
"""

from __future__ import annotations

import json

import fastavro

from streams.errors import KafkaOperationError
from streams.formats import avro
from streams.kafka import topics as t
from streams.kafka.clients import producer
from streams.settings import Settings


def schema_records() -> dict[bytes, tuple[str, str]]:
    """fingerprint (hex, as the key) -> (schema name, JSON text), one per distinct version."""
    found: dict[bytes, tuple[str, str]] = {}
    for name, text in avro.versions():
        key = avro.fingerprint_of(fastavro.parse_schema(json.loads(text))).hex().encode()
        found.setdefault(key, (name, text))
    return found


def publish_schemas(settings: Settings, timeout: float = 30.0) -> int:
    """Publish every version to the schemas topic; returns how many."""
    records = schema_records()
    p = producer(settings)
    topic = settings.topic(t.SCHEMAS)
    failed: list[str] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is not None:
            failed.append(str(err))

    for key, (name, text) in sorted(records.items()):
        p.produce(
            topic,
            key=key,
            value=text.encode("utf-8"),
            headers=[(avro.SCHEMA_HEADER, name.encode())],
            on_delivery=on_delivery,
        )
    left = p.flush(timeout)
    if left or failed:
        raise KafkaOperationError(
            f"schemas not published to {topic}: {left} undelivered, errors: {failed[:3]}"
        )
    return len(records)
