"""Reading the dead-letter topic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streams.codecs import avro
from streams.ops import topics as t
from streams.ops.kafka_read import read_topic
from streams.settings import Settings


def dlq_records(settings: Settings, category: str | None = None) -> Iterator[dict[str, Any]]:
    """Distinct DLQ records (a record reprocessed after a crash is dead-lettered with the
    same deterministic dlq_id), oldest first, optionally of one category."""
    seen: set[str] = set()
    for msg in read_topic(settings, settings.topic(t.DLQ)):
        rec = avro.decode("dlq_record", msg.value() or b"")
        if rec["dlq_id"] in seen or (category is not None and rec["category"] != category):
            continue
        seen.add(rec["dlq_id"])
        yield rec
