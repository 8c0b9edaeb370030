"""Avro encoding of every record we publish, with the schemas kept in ``schemas/``.

A message is self-describing (docs/data-contract.md): Avro single-object encoding, the
marker ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's
Parsing Canonical Form, then the Avro body. With a Schema Registry configured
(``use_registry``), the Confluent wire format instead: a zero byte, the schema id (4 bytes,
big-endian), the body. The ``recon-schema`` header still names the schema.

Readers accept both framings and the schemaless bodies written before them (no marker),
so records written by an older release stay readable during and after a rollout. A
schemaless body cannot start with the marker: every schema's first field is a string, a
union or an int/long id whose encodings never begin ``C3 01`` for a valid record (the
marker reads as a length or a union index of -98; the unit tests check each schema).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import fastavro
from fastavro.schema import fingerprint as _fingerprint
from fastavro.schema import to_parsing_canonical_form

from streams.errors import ReconError

SCHEMA_HEADER = "recon-schema"
# A checkout (editable install) reads schemas/ at the repo root; a wheel installs the same
# files as data under <prefix>/share/recon-streams/schemas (see pyproject's data-files).
SCHEMA_DIRS = (
    Path(__file__).resolve().parents[2] / "schemas",
    Path(sys.prefix) / "share" / "recon-streams" / "schemas",
)
# The last released version of each schema: still readable by fingerprint, and the
# baseline of the compatibility gate (docs/data-contract.md, "Changing a schema").
RELEASED = "released"

SINGLE_OBJECT_MARKER = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
FINGERPRINT_BYTES = 8


class SchemaError(ReconError):
    """A record does not fit its Avro schema, or the schema is unknown."""


class SchemaIds(Protocol):
    """A Schema Registry as the encoder needs it (streams/kafka/registry.py)."""

    def id_for(self, name: str, schema_text: str) -> int:
        """The registry's id of ``schema_text`` (registered under ``name``'s subject)."""
        ...

    def schema_for(self, schema_id: int) -> str:
        """The schema (JSON text) the registry holds under ``schema_id``."""
        ...


_registry: SchemaIds | None = None
_bare = False


def use_registry(registry: SchemaIds | None) -> None:
    """Write the Confluent wire format with ids from ``registry`` (None: single-object
    encoding). Set once at process start (the CLI, from RECON_SCHEMA_REGISTRY_URL)."""
    global _registry
    _registry = registry


def write_bare(bare: bool) -> None:
    """Write bare bodies, as releases before the framing did (RECON_AVRO_FRAMING=bare):
    for the first phase of an upgrade, while readers of the old release still run
    (docs/data-contract.md). Reading is unaffected."""
    global _bare
    _bare = bare


def _schema_text(name: str, folder_name: str = "") -> str:
    for folder in SCHEMA_DIRS:
        path = folder / folder_name / f"{name}.avsc"
        if path.exists():
            return path.read_text(encoding="utf-8")
    raise SchemaError(
        f"unknown Avro schema {name!r} (looked in {', '.join(map(str, SCHEMA_DIRS))})"
    )


def schema_text(name: str) -> str:
    """The Avro schema ``name`` as written in its .avsc file (JSON)."""
    return _schema_text(name)


def schema_names() -> list[str]:
    """Every schema in ``schemas/`` by file stem."""
    for folder in SCHEMA_DIRS:
        if folder.is_dir():
            return sorted(p.stem for p in folder.glob("*.avsc"))
    return []


def released_text(name: str) -> str | None:
    """The last released version of schema ``name``; None for a schema not yet released."""
    try:
        return _schema_text(name, RELEASED)
    except SchemaError:
        return None


@cache
def schema(name: str) -> Any:
    return fastavro.parse_schema(json.loads(_schema_text(name)))


def fingerprint_of(parsed: Any) -> bytes:
    """The 8 bytes single-object encoding puts after the marker: the CRC-64-AVRO (Rabin)
    fingerprint of the schema's Parsing Canonical Form, little-endian (fastavro's hex
    digest is those bytes in that order)."""
    return bytes.fromhex(_fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


@cache
def fingerprint(name: str) -> bytes:
    return fingerprint_of(schema(name))


def versions() -> Iterator[tuple[str, str]]:
    """(name, JSON text) of every schema version a reader may meet: the current ones and
    the released ones (the two are the same text until a schema changes)."""
    for name in schema_names():
        yield name, _schema_text(name)
        released = released_text(name)
        if released is not None:
            yield name, released


@cache
def _by_fingerprint() -> dict[bytes, tuple[str, Any]]:
    known: dict[bytes, tuple[str, Any]] = {}
    for name, text in versions():
        parsed = fastavro.parse_schema(json.loads(text))
        known.setdefault(fingerprint_of(parsed), (name, parsed))
    return known


@cache
def _registry_schema(schema_id: int) -> Any:
    assert _registry is not None
    return fastavro.parse_schema(json.loads(_registry.schema_for(schema_id)))


def body(name: str, record: dict[str, Any]) -> bytes:
    """The bare Avro body of ``record`` (no framing)."""
    buf = io.BytesIO()
    try:
        fastavro.schemaless_writer(buf, schema(name), record)
    except (ValueError, TypeError, AttributeError) as exc:
        raise SchemaError(f"record does not fit schema {name!r}: {exc}") from exc
    return buf.getvalue()


def encode(name: str, record: dict[str, Any]) -> bytes:
    if _bare:
        return body(name, record)
    if _registry is not None:
        schema_id = _registry.id_for(name, _schema_text(name))
        return CONFLUENT_MAGIC + schema_id.to_bytes(4, "big") + body(name, record)
    return SINGLE_OBJECT_MARKER + fingerprint(name) + body(name, record)


def writer_of(name: str, payload: bytes) -> tuple[Any | None, int]:
    """The schema ``payload`` was written with, None when it is ``name``'s current schema
    (framed with its fingerprint, or schemaless), and where its body starts."""
    if payload[:2] == SINGLE_OBJECT_MARKER and len(payload) >= 2 + FINGERPRINT_BYTES:
        found = payload[2 : 2 + FINGERPRINT_BYTES]
        if found == fingerprint(name):
            return None, 2 + FINGERPRINT_BYTES
        known = _by_fingerprint().get(found)
        if known is None:
            raise SchemaError(
                f"{name}: unknown schema fingerprint {found.hex()} (neither a current nor a "
                "released version; the schemas topic holds every published one)"
            )
        return known[1], 2 + FINGERPRINT_BYTES
    if _registry is not None and payload[:1] == CONFLUENT_MAGIC and len(payload) >= 5:
        return _registry_schema(int.from_bytes(payload[1:5], "big")), 5
    return None, 0  # schemaless, as written before single-object encoding


def decode(name: str, payload: bytes) -> dict[str, Any]:
    """The record ``payload`` holds, in the shape of schema ``name`` (an older writer's
    record resolved to it by Avro's schema resolution)."""
    writer, start = writer_of(name, payload)
    stream = io.BytesIO(payload)
    stream.seek(start)
    if writer is None:
        result = fastavro.schemaless_reader(stream, schema(name), None)
    else:
        result = fastavro.schemaless_reader(stream, writer, schema(name))
    if not isinstance(result, dict):
        raise SchemaError(f"schema {name!r} does not describe a record")
    return result
