"""Avro encoding of every record we publish, with the schemas kept in ``schemas/``.

Messages are schemaless Avro bodies; the ``recon-schema`` header names the schema so a
consumer can pick the reader schema without a registry.
"""

from __future__ import annotations

import io
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastavro

from streams.errors import ReconError

SCHEMA_HEADER = "recon-schema"
_REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


class SchemaError(ReconError):
    """A record does not fit its Avro schema, or the schema is unknown."""


def _schema_text(name: str) -> str:
    path = _REPO_SCHEMAS / f"{name}.avsc"
    if path.exists():
        return path.read_text()
    packaged = resources.files("streams.codecs").joinpath("schemas", f"{name}.avsc")
    if packaged.is_file():
        return packaged.read_text()
    raise SchemaError(f"unknown Avro schema {name!r} (looked in {_REPO_SCHEMAS})")


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
    result: dict[str, Any] = fastavro.schemaless_reader(io.BytesIO(payload), schema(name), None)
    return result
