"""The data contract on the real broker, read as a downstream consumer without our code
would: `recon topics create` publishes every schema version to the schemas topic, and an
output record names its writer schema by the fingerprint that keys it there."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import fastavro
import pytest
from confluent_kafka import KafkaException, Message
from typer.testing import CliRunner

from streams.cli.main import app
from streams.formats import avro
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def read_until(
    settings: Settings, name: str, done: Callable[[list[Message]], bool], timeout: float = 30
) -> list[Message]:
    """The topic's messages once ``done`` holds for them: a broker just started may still
    be settling the new topics' leaders and metadata."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            messages = list(read_topic(settings, settings.topic(name)))
        except KafkaException:  # a leader not yet known to this client: ask again
            if time.monotonic() > deadline:
                raise
            messages = []
        if done(messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.2)


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

    wanted = {avro.fingerprint(name).hex().encode() for name in avro.schema_names()}
    messages = read_until(settings, t.SCHEMAS, lambda ms: wanted <= {m.key() for m in ms})
    published = {m.key(): json.loads(m.value() or b"") for m in messages}
    assert wanted <= set(published)
    for key, schema in published.items():  # each keyed by its own fingerprint
        assert avro.fingerprint_of(fastavro.parse_schema(schema)).hex().encode() == key

    ingest_file(settings, EXAMPLES / "promotions.csv", "promotions")
    (manifest,) = read_until(settings, t.MANIFESTS, lambda ms: len(ms) > 0)
    value = manifest.value() or b""
    assert value[:2] == b"\xc3\x01"
    writer = fastavro.parse_schema(published[value[2:10].hex().encode()])
    record = fastavro.schemaless_reader(io.BytesIO(value[10:]), writer, None)
    assert record == avro.decode("ingest_manifest", value)
    assert isinstance(record, dict) and record["source_file"] == "promotions.csv"
