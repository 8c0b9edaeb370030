"""The worker's HTTP endpoints, on a thread of their own so a busy or blocked event loop
cannot hide itself: ``/metrics`` (Prometheus text format), ``/healthz`` (liveness: the
event loop ticked recently) and ``/readyz`` (readiness: the assigned partitions are
restored).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from streams.observability.metrics import Metrics

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class Health:
    """What the probes read; written by the worker's event loop, read by the HTTP thread."""

    def __init__(self, stall_seconds: float) -> None:
        self.stall_seconds = stall_seconds
        self.last_tick: float | None = None
        self.ready = False

    def tick(self) -> None:
        self.last_tick = time.monotonic()

    def alive(self) -> bool:
        # Before the first tick the worker is starting (joining the group can take a while):
        # that is for readiness to report, not a reason to restart it.
        return self.last_tick is None or time.monotonic() - self.last_tick < self.stall_seconds


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds is not news


WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def wsgi_app(metrics: Metrics, health: Health) -> WsgiApp:
    exposition = make_wsgi_app(metrics.registry)

    def probe(ok: bool, start: StartResponse, what: str) -> list[bytes]:
        status = "200 OK" if ok else "503 Service Unavailable"
        start(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [f"{what}\n".encode()]

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            alive = health.alive()
            return probe(alive, start, "alive" if alive else "event loop stalled")
        if path == "/readyz":
            return probe(health.ready, start, "ready" if health.ready else "recovering")
        if path == "/metrics":
            result: Iterable[bytes] = exposition(environ, start)
            return result
        start("404 Not Found", [("Content-Type", "text/plain")])
        return [b"try /metrics, /healthz or /readyz\n"]

    return app


class ObservabilityServer:
    """Serves the endpoints on ``host:port`` (port 0: any free port, see ``port``)."""

    def __init__(self, metrics: Metrics, health: Health, host: str, port: int) -> None:
        self._server = make_server(
            host, port, wsgi_app(metrics, health), _Server, handler_class=_QuietHandler
        )
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="observability-http", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("metrics and health endpoints on port %d", self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
