"""The compatibility gate: every schema in schemas/ reads what the last released version
of it wrote (backward compatible), checked the way a consumer meets it: records written
with the released schema, read with the current one through Avro schema resolution.

On a release, copy schemas/*.avsc to schemas/released/ (docs/data-contract.md)."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import pytest
from fastavro.utils import generate_many

from streams.formats import avro

pytestmark = pytest.mark.unit

RELEASED = [name for name in avro.schema_names() if avro.released_text(name) is not None]
SAMPLES = 50


def read_old_with_new(old: dict[str, Any], new: dict[str, Any], count: int = SAMPLES) -> None:
    """Writes ``count`` generated records with ``old`` and reads each with ``new``; raises
    what schema resolution raises when ``new`` cannot read them."""
    writer, reader = fastavro.parse_schema(old), fastavro.parse_schema(new)
    for record in generate_many(writer, count):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, writer, record)
        buf.seek(0)
        fastavro.schemaless_reader(buf, writer, reader)
        assert buf.read() == b"", "the reader left bytes of the record unread"


def test_every_released_schema_is_still_shipped() -> None:
    folder = avro.SCHEMA_DIRS[0] / avro.RELEASED
    released = sorted(p.stem for p in folder.glob("*.avsc"))
    assert released, "schemas/released/ holds the last released version of each schema"
    assert set(released) <= set(avro.schema_names())


@pytest.mark.parametrize("name", RELEASED)
def test_the_current_schema_reads_records_of_the_released_one(name: str) -> None:
    old = json.loads(avro.released_text(name) or "")
    new = json.loads(avro.schema_text(name))
    assert old["name"] == new["name"] and old.get("namespace") == new.get("namespace")
    read_old_with_new(old, new)


BASE = {
    "type": "record",
    "name": "Entry",
    "fields": [
        {"name": "id", "type": "string"},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 2},
        },
    ],
}


def changed(**fields: Any) -> dict[str, Any]:
    return {**BASE, "fields": [*BASE["fields"], *fields.values()]}


@pytest.mark.parametrize(
    "new",
    [
        changed(note={"name": "note", "type": "string"}),  # a new field without a default
        {**BASE, "fields": [{"name": "id", "type": "int"}, BASE["fields"][1]]},  # a type change
        {**BASE, "fields": [BASE["fields"][1], {"name": "key", "type": "string"}]},  # renamed
    ],
)
def test_the_gate_refuses_a_change_that_breaks_old_records(new: dict[str, Any]) -> None:
    with pytest.raises(fastavro.read.SchemaResolutionError):
        read_old_with_new(BASE, new, count=5)


def test_the_gate_accepts_a_new_field_with_a_default_and_a_removed_field() -> None:
    read_old_with_new(BASE, changed(note={"name": "note", "type": "string", "default": ""}), 5)
    read_old_with_new(BASE, {**BASE, "fields": BASE["fields"][:1]}, 5)
