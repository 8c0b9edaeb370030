"""Avro single-object encoding and the Confluent wire format on our records, read back
together with the schemaless bodies of earlier releases (docs/data-contract.md)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.schema import to_parsing_canonical_form
from fastavro.utils import generate_many

from streams.formats import avro

pytestmark = pytest.mark.unit

NAMES = avro.schema_names()


def rabin64(data: bytes) -> int:
    """CRC-64-AVRO exactly as the Avro specification writes it ("Schema Fingerprints")."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def schemaless(schema: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, record)
    return buf.getvalue()


def samples(name: str, count: int = 20) -> list[dict[str, Any]]:
    return list(generate_many(avro.schema(name), count))


def test_the_fingerprint_is_the_specs_rabin_fingerprint_little_endian() -> None:
    # The Avro test suite's value for "int": 8247732601305521295 (Java's parsingFingerprint64).
    assert avro.fingerprint_of(fastavro.parse_schema("int")) == (8247732601305521295).to_bytes(
        8, "little"
    )
    for name in NAMES:
        canonical = to_parsing_canonical_form(avro.schema(name)).encode()
        assert avro.fingerprint(name) == rabin64(canonical).to_bytes(8, "little"), name


@pytest.mark.parametrize("name", NAMES)
def test_records_are_single_object_encoded_and_read_back(name: str) -> None:
    for record in samples(name):
        payload = avro.encode(name, record)
        assert payload[:2] == b"\xc3\x01"
        assert payload[2:10] == avro.fingerprint(name)
        assert payload[10:] == schemaless(avro.schema(name), record)
        assert avro.decode(name, payload) == avro.decode(name, payload[10:])


@pytest.mark.parametrize("name", NAMES)
def test_schemaless_bodies_of_earlier_releases_still_decode(name: str) -> None:
    for record in samples(name):
        legacy = schemaless(avro.schema(name), record)
        assert avro.decode(name, legacy) == avro.decode(name, avro.encode(name, record))


@pytest.mark.parametrize("name", NAMES)
def test_no_schemaless_body_can_start_with_the_marker(name: str) -> None:
    """C3 01 as the first bytes is the varint -98: a negative length (string, bytes) or
    union index, so only a first field of type int or long could produce it."""
    first = json.loads(avro.schema_text(name))["fields"][0]["type"]
    kind = first if isinstance(first, str) else "union" if isinstance(first, list) else None
    assert kind in {"string", "bytes", "union"}, f"{name}: first field of type {first!r}"


def test_an_unknown_fingerprint_is_refused_by_name() -> None:
    payload = b"\xc3\x01" + bytes(8) + b"\x02a"
    with pytest.raises(avro.SchemaError, match="unknown schema fingerprint 0000000000000000"):
        avro.decode("ledger_entry", payload)


OLD = {
    "type": "record",
    "name": "Thing",
    "namespace": "io.recon.test",
    "fields": [{"name": "id", "type": "string"}],
}
NEW = {**OLD, "fields": [*OLD["fields"], {"name": "note", "type": "string", "default": "-"}]}


@pytest.fixture
def evolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A schema ``thing`` whose current version added a field to the released one."""
    (tmp_path / "released").mkdir()
    (tmp_path / "thing.avsc").write_text(json.dumps(NEW))
    (tmp_path / "released" / "thing.avsc").write_text(json.dumps(OLD))
    monkeypatch.setattr(avro, "SCHEMA_DIRS", (tmp_path,))
    caches = (avro.schema, avro.fingerprint, avro._by_fingerprint)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.mark.usefixtures("evolved")
def test_a_record_of_the_released_version_is_resolved_to_the_current_one() -> None:
    old = fastavro.parse_schema(OLD)
    payload = b"\xc3\x01" + avro.fingerprint_of(old) + schemaless(old, {"id": "x"})
    assert avro.decode("thing", payload) == {"id": "x", "note": "-"}
    assert avro.decode("thing", avro.encode("thing", {"id": "y", "note": "n"})) == {
        "id": "y",
        "note": "n",
    }


class FakeRegistry:
    """The encoder's view of a registry, in memory (the HTTP client has its own tests)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def id_for(self, name: str, schema_text: str) -> int:
        return self.ids.setdefault(schema_text, 100 + len(self.ids))

    def schema_for(self, schema_id: int) -> str:
        return {v: k for k, v in self.ids.items()}[schema_id]


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    avro.use_registry(fake)
    yield fake
    avro.use_registry(None)
    avro._registry_schema.cache_clear()


def test_with_a_registry_records_use_the_confluent_wire_format(registry: FakeRegistry) -> None:
    record = samples("ledger_entry", 1)[0]
    payload = avro.encode("ledger_entry", record)
    schema_id = registry.ids[avro.schema_text("ledger_entry")]
    assert payload[:5] == b"\x00" + schema_id.to_bytes(4, "big")
    assert payload[5:] == schemaless(avro.schema("ledger_entry"), record)
    decoded = avro.decode("ledger_entry", payload)
    assert decoded == avro.decode("ledger_entry", payload[5:])
    # single-object records written before the registry was configured still decode
    avro.use_registry(None)
    framed = avro.encode("ledger_entry", record)
    avro.use_registry(registry)
    assert avro.decode("ledger_entry", framed) == decoded


def test_bare_framing_writes_what_earlier_releases_wrote() -> None:
    record = samples("dlq_record", 1)[0]
    avro.write_bare(True)
    try:
        bare = avro.encode("dlq_record", record)
    finally:
        avro.write_bare(False)
    assert bare == schemaless(avro.schema("dlq_record"), record)
    assert avro.decode("dlq_record", bare) == avro.decode(
        "dlq_record", avro.encode("dlq_record", record)
    )
