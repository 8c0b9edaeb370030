"""Ledger entries read for PostgreSQL: the Avro body decoded without fastavro's logical
types, the decimals written as PostgreSQL numeric text.

fastavro turns each decimal into a ``Decimal`` and each timestamp into a ``datetime``, and
psycopg then turns the decimals back into text for COPY: with three decimals per entry
that was half the decode and a fifth of the delivery loop's CPU. Here a decimal is its
unscaled integer with an exponent (``-12345e-2``), which PostgreSQL's numeric input reads
exactly; the column's scale is the schema's, so nothing is rounded.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import fastavro

from streams.delivery.target import LEDGER_SCHEMA
from streams.formats import avro

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def _plain_schema() -> tuple[Any, dict[str, int], tuple[str, ...]]:
    """The ledger_entry schema with its logical types removed (decimals read as bytes,
    timestamps as microseconds), the scale of each decimal field and the timestamp fields."""
    raw = json.loads(avro.schema_text(LEDGER_SCHEMA))
    scales: dict[str, int] = {}
    stamps: list[str] = []
    for f in raw["fields"]:
        kind = f["type"]
        if isinstance(kind, dict) and "logicalType" in kind:
            if kind["logicalType"] == "decimal":
                scales[f["name"]] = int(kind.get("scale", 0))
            elif kind["logicalType"] == "timestamp-micros":
                stamps.append(f["name"])
            else:  # a logical type this reader does not know: refuse, not guess
                raise ValueError(f"ledger_entry field {f['name']!r}: {kind['logicalType']}")
            f["type"] = kind["type"]
    return fastavro.parse_schema(raw), scales, tuple(stamps)


def read_ledger_row(value: bytes) -> dict[str, Any]:
    """The ledger entry ``value`` carries, decimals as numeric text and timestamps as
    ``datetime``; raises what fastavro or the conversions raise for a body that is not
    one (the loop dead-letters it as a parse error)."""
    writer, start = avro.writer_of(LEDGER_SCHEMA, value)
    if writer is not None:  # an older release's entry: resolved to the current schema
        return _resolved_row(avro.decode(LEDGER_SCHEMA, value))
    schema, scales, stamps = _plain_schema()
    stream = io.BytesIO(value)
    stream.seek(start)
    record = fastavro.schemaless_reader(stream, schema, None)
    if not isinstance(record, dict):
        raise TypeError("ledger_entry does not decode to a record")
    for name, scale in scales.items():
        record[name] = f"{int.from_bytes(record[name], 'big', signed=True)}e-{scale}"
    for name in stamps:
        record[name] = EPOCH + timedelta(microseconds=record[name])
    return record


def _resolved_row(record: dict[str, Any]) -> dict[str, Any]:
    """A record decoded with the logical types as the fast path shapes it: decimals as
    numeric text (exact), timestamps as ``datetime``."""
    _, scales, _ = _plain_schema()
    for name in scales:
        record[name] = str(record[name])
    return record
