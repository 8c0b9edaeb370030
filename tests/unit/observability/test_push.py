from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from streams.observability.push import run_metrics
from streams.settings import Settings

pytestmark = pytest.mark.unit


class Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.received = []
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_one_shot_run_pushes_its_registry_and_summarises(gateway: str) -> None:
    settings = Settings(pushgateway_url=gateway, app_id="app1")
    with run_metrics(settings, "ingest") as run:
        run.published("p.raw.pos", 264)
    ((method, path, body),) = Gateway.received
    assert method == "PUT" and path.startswith("/metrics/job/recon-ingest/")
    assert "/app/app1" in path
    text = body.decode()
    assert 'recon_records_out_total{stage="ingest",topic="p.raw.pos"} 264.0' in text
    assert 'recon_run_duration_seconds{command="ingest"}' in text
    assert run.summary().startswith("metrics: recon_records_out_total{stage='ingest'} 264, ")
    assert run.summary().endswith(f"pushed to {gateway}")


def test_without_a_gateway_the_summary_still_has_the_numbers() -> None:
    with run_metrics(Settings(), "replay") as run:
        run.published("p.raw.pos", 3)
        run.published("p.raw.promotions", 2)
    assert "recon_records_out_total{stage='replay'} 5" in run.summary()
    assert "pushed" not in run.summary()


def test_an_unreachable_gateway_does_not_fail_the_run() -> None:
    with run_metrics(Settings(pushgateway_url="127.0.0.1:1"), "ingest") as run:
        run.published("t", 1)
    assert "pushed" not in run.summary()
