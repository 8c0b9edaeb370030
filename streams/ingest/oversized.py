"""Records too large for their raw topic, dead-lettered at ingest (docs/domain.md §2).

A message over the topic's limit is refused (MSG_SIZE_TOO_LARGE), every re-run of the
ingest fails the same way, and the file never reconciles. So ingest does for such a record
what the worker does for a bad one: it publishes a DLQ record (category
``oversized_record``, the record's position, its size and its first few KB) and the
outcome ``dead_lettered``. The record counts as read (the manifest) and as dead-lettered
(the outcome): the file reconciles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.domain.models.outcome import Outcome
from streams.errors import Category, RecordError, Stage
from streams.formats import headers as h
from streams.formats.csv_source import IngestError
from streams.formats.edi_source import EDI_FORMAT, x12_bytes
from streams.formats.records import Source, cut, dead_letter_message, outcome_record
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.settings import Settings

ORIGINAL_PREFIX_BYTES = 4096  # what the DLQ record keeps of an oversized record
HEADER_VALUE_MAX = 1024  # characters of a header value it keeps (a header row may be long)
# What a message costs beyond its key, value and header bytes (record batch and record
# framing, varints); generous, as the exact figure depends on batching.
MESSAGE_OVERHEAD = 512
# Room a raw record leaves below the limit for the envelope the worker wraps it in if it
# dead-letters it (the DLQ fields, the headers again, an error text of at most
# formats.records.ERROR_TEXT_MAX characters): that DLQ record must fit the limit too.
DLQ_ROOM = 16_384
# Below this a topic could not hold a dead letter of an oversized record (its prefix and
# headers) with its envelope.
SMALLEST_LIMIT = 65_536

Send = Callable[[str, bytes, bytes, h.HeaderList], None]
"""Produce one message: topic, key, value, headers."""


def message_size(key: bytes, value: bytes, headers: h.HeaderList) -> int:
    """What a message counts against ``max.message.bytes``, with margin."""
    return len(key) + len(value) + sum(len(n) + len(v) for n, v in headers) + MESSAGE_OVERHEAD


def record_limit(settings: Settings, raw_topic: str) -> int:
    """The largest message a record of ``raw_topic`` may be: the smallest
    ``max.message.bytes`` of the raw, DLQ and outcome topics, or RECON_MAX_RECORD_BYTES if
    smaller, less DLQ_ROOM."""
    topics = (raw_topic, settings.topic(t.DLQ), settings.topic(t.OUTCOMES))
    topic_limit = t.max_message_bytes(settings, *topics)
    if topic_limit < SMALLEST_LIMIT:
        raise IngestError(
            f"max.message.bytes={topic_limit} on one of {', '.join(topics)} is too small: "
            f"a dead letter of an oversized record needs {SMALLEST_LIMIT}"
        )
    return min(settings.max_record_bytes, topic_limit) - DLQ_ROOM


def original_bytes(record_format: str, value: bytes) -> bytes:
    """The record as read from the file: a CSV record is its value, an X12 set is inside
    its edi_document."""
    return x12_bytes(value) if record_format == EDI_FORMAT else value


@dataclass
class OversizedRecords:
    """Of one ingest run, dead-letters (with their outcome) the records too large to publish."""

    settings: Settings
    raw_topic: str
    record_format: str
    limit: int
    send: Send
    metrics: Metrics
    dead_lettered: int = 0

    def divert(self, line: int, key: bytes, value: bytes, headers: h.HeaderList) -> bool:
        """Dead-letter the record and return True if its message is over the limit; else
        do nothing and return False (publish it)."""
        size = message_size(key, value, headers)
        if size <= self.limit:
            return False
        original = original_bytes(self.record_format, value)
        src = Source(
            topic=self.raw_topic,
            partition=-1,  # it never reached the topic: no partition, no offset
            offset=-1,
            key=key,
            value=original[:ORIGINAL_PREFIX_BYTES],
            headers={n: cut(v, HEADER_VALUE_MAX) for n, v in h.to_dict(headers).items()},
        )
        err = RecordError(
            Category.OVERSIZED_RECORD,
            Stage.INGEST,
            self._describe(src, size, len(original)),
            value=size,
        )
        self.send(self.settings.topic(t.DLQ), *dead_letter_message(src, err))
        self.send(
            self.settings.topic(t.OUTCOMES),
            src.correlation_id.encode(),
            outcome_record(src, Outcome.DEAD_LETTERED, None),
            src.trace_headers("outcome"),
        )
        self.metrics.dlq_records.labels(err.category.value, err.stage.value).inc()
        self.dead_lettered += 1
        return True

    def _describe(self, src: Source, size: int, original_size: int) -> str:
        edi = self.record_format == EDI_FORMAT
        where = f"{src.source_file} {'segment' if edi else 'line'} {src.line}"
        what = "X12 set" if edi else "record"
        return (
            f"{where}: the {what} of {original_size:,} bytes is {size:,} bytes as a Kafka "
            f"message, over the "
            f"{self.limit:,}-byte record limit of {self.raw_topic} (the smallest "
            f"max.message.bytes or RECON_MAX_RECORD_BYTES, less {DLQ_ROOM:,} for a dead "
            f"letter): dead-lettered at ingest with its first {len(src.value):,} of "
            f"{original_size:,} bytes"
        )
