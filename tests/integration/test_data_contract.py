"""The data contract on the real broker, read as a downstream consumer without our code
would: `recon topics create` publishes every schema version to the schemas topic, and an
output record names its writer schema by the fingerprint that keys it there."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro
import pytest
from typer.testing import CliRunner

from streams.cli.main import app
from streams.formats import avro
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_outputs_name_a_schema_version_published_to_the_schemas_topic(
    isolated_settings: Settings,
) -> None:
    settings = isolated_settings
    result = CliRunner().invoke(
        app,
        ["--bootstrap-servers", settings.bootstrap, "--topic-prefix", settings.topic_prefix,
         "--app-id", settings.app_id, "--home", str(settings.home), "topics", "create"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "schema versions published" in " ".join(result.output.split())

    published = {
        m.key(): json.loads(m.value() or b"")
        for m in read_topic(settings, settings.topic(t.SCHEMAS))
    }
    names = avro.schema_names()
    assert {avro.fingerprint(name).hex().encode() for name in names} <= set(published)
    for key, schema in published.items():  # each keyed by its own fingerprint
        assert avro.fingerprint_of(fastavro.parse_schema(schema)).hex().encode() == key

    ingest_file(settings, EXAMPLES / "promotions.csv", "promotions")
    (manifest,) = list(read_topic(settings, settings.topic(t.MANIFESTS)))
    value = manifest.value() or b""
    assert value[:2] == b"\xc3\x01"
    writer = fastavro.parse_schema(published[value[2:10].hex().encode()])
    record = fastavro.schemaless_reader(io.BytesIO(value[10:]), writer, None)
    assert record == avro.decode("ingest_manifest", value)
    assert isinstance(record, dict) and record["source_file"] == "promotions.csv"
