"""Avro encoding of every record we publish, with the schemas kept in ``schemas/``.

Messages are schemaless Avro bodies; the ``recon-schema`` header names the schema so a
consumer can pick the reader schema without a registry.
"""

from __future__ import annotations

import io
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import fastavro

from streams.errors import ReconError

SCHEMA_HEADER = "recon-schema"
# A checkout (editable install) reads schemas/ at the repo root; a wheel installs the same
# files as data under <prefix>/share/recon-streams/schemas (see pyproject's data-files).
SCHEMA_DIRS = (
    Path(__file__).resolve().parents[2] / "schemas",
    Path(sys.prefix) / "share" / "recon-streams" / "schemas",
)


class SchemaError(ReconError):
    """A record does not fit its Avro schema, or the schema is unknown."""


def _schema_text(name: str) -> str:
    for folder in SCHEMA_DIRS:
        path = folder / f"{name}.avsc"
        if path.exists():
            return path.read_text(encoding="utf-8")
    raise SchemaError(
        f"unknown Avro schema {name!r} (looked in {', '.join(map(str, SCHEMA_DIRS))})"
    )


def schema_text(name: str) -> str:
    """The Avro schema ``name`` as written in its .avsc file (JSON)."""
    return _schema_text(name)


@cache
def schema(name: str) -> Any:
    return fastavro.parse_schema(json.loads(_schema_text(name)))


def encode(name: str, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    try:
        fastavro.schemaless_writer(buf, schema(name), record)
    except (ValueError, TypeError, AttributeError) as exc:
        raise SchemaError(f"record does not fit schema {name!r}: {exc}") from exc
    return buf.getvalue()


def decode(name: str, payload: bytes) -> dict[str, Any]:
    result = fastavro.schemaless_reader(io.BytesIO(payload), schema(name), None)
    if not isinstance(result, dict):
        raise SchemaError(f"schema {name!r} does not describe a record")
    return result
