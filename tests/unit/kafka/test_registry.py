"""The Schema Registry client against a local HTTP stand-in of the registry's register and
lookup endpoints (the two the encoder uses), and the wire format it leads to."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from streams.formats import avro
from streams.kafka.registry import RegistryError, SchemaRegistry, subject_of

pytestmark = pytest.mark.unit


class StandIn(HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str]] = []


class Handler(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.server.requests.append(("POST", self.path))
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
            return self.reply(404, {"error_code": 404, "message": "not found"})
        text = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["schema"]
        json.loads(text)  # the real registry refuses a schema that is not JSON
        found = [i for i, s in self.server.schemas.items() if s == text]
        schema_id = found[0] if found else len(self.server.schemas) + 1
        self.server.schemas[schema_id] = text
        self.server.subjects.setdefault(parts[1], []).append(schema_id)
        return self.reply(200, {"id": schema_id})

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))
        prefix = "/schemas/ids/"
        if self.path.startswith(prefix) and int(self.path[len(prefix) :]) in self.server.schemas:
            return self.reply(200, {"schema": self.server.schemas[int(self.path[len(prefix) :])]})
        return self.reply(404, {"error_code": 40403, "message": "Schema not found"})


OUTCOME = {
    "correlation_id": "run:7",
    "source_file": "pos.csv",
    "file_sha256": "ab",
    "source_line": 7,
    "record_format": "csv",
    "outcome": "applied",
    "idempotency_key": None,
    "decided_at": datetime(2026, 12, 6, tzinfo=UTC),
}


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(server: StandIn) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_schema_is_registered_once_under_its_record_name(stand_in: StandIn) -> None:
    registry = SchemaRegistry(url(stand_in))
    text = avro.schema_text("ledger_entry")
    first = registry.id_for("ledger_entry", text)
    assert registry.id_for("ledger_entry", text) == first  # cached: one request
    assert stand_in.requests == [("POST", "/subjects/io.recon.ledger.LedgerEntry/versions")]
    assert stand_in.subjects == {"io.recon.ledger.LedgerEntry": [first]}
    assert registry.schema_for(first) == text


def test_a_reader_fetches_an_unknown_id_and_decodes_the_record(stand_in: StandIn) -> None:
    writer = SchemaRegistry(url(stand_in))
    avro.use_registry(writer)
    try:
        payload = avro.encode("outcome", OUTCOME)
    finally:
        avro.use_registry(None)
    schema_id = int.from_bytes(payload[1:5], "big")
    assert payload[:1] == b"\x00" and schema_id in stand_in.schemas
    reader = SchemaRegistry(url(stand_in))  # another process: knows no id yet
    avro.use_registry(reader)
    try:
        avro._registry_schema.cache_clear()
        assert avro.decode("outcome", payload)["correlation_id"] == "run:7"
    finally:
        avro.use_registry(None)
        avro._registry_schema.cache_clear()
    assert ("GET", f"/schemas/ids/{schema_id}") in stand_in.requests


def test_registry_errors_are_clear(stand_in: StandIn) -> None:
    registry = SchemaRegistry(url(stand_in))
    with pytest.raises(RegistryError, match="HTTP 404"):
        registry.schema_for(99)
    with pytest.raises(RegistryError, match="unreachable"):
        SchemaRegistry("http://127.0.0.1:1", timeout=2).id_for(
            "outcome", avro.schema_text("outcome")
        )


def test_subjects_follow_the_record_name_strategy() -> None:
    assert subject_of('{"type":"record","name":"A","namespace":"n.s","fields":[]}') == "n.s.A"
    assert subject_of('{"type":"record","name":"x.B","namespace":"n.s","fields":[]}') == "x.B"
