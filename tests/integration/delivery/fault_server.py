"""The ERP stand-in: a real HTTP server on 127.0.0.1 (threads) that answers journal POSTs
with scripted faults and counts what it accepted.

Faults, one per request in order (then every request is served normally):
``503``, ``422`` (refused), ``429`` (``Retry-After: 1``), ``reset`` (the connection is
dropped without an answer), ``slow`` (processed, answered after the client's timeout),
``lost`` (processed, answered 503: the answer was lost). Otherwise a request whose
Idempotency-Key was accepted before is answered 409 Conflict, a new one 201.
"""

from __future__ import annotations

import csv
import json
import socket
import struct
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SLOW_SECONDS = 1.5


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request (the kill -9 tests) is expected, not news


class FaultyErp:
    """``unique_entries``: the ERP also holds entry_id unique (docs/delivery.md): a line
    whose entry it has is skipped, counted in ``replayed_lines``."""

    def __init__(self, faults: list[str], *, unique_entries: bool = False) -> None:
        self.faults = deque(faults)
        self.unique_entries = unique_entries
        self.replayed_lines = 0
        self.lock = threading.Lock()
        self.posts: list[tuple[float, str, str]] = []  # (monotonic time, key, answer)
        self.keys: set[str] = set()
        self.accepted: Counter[str] = Counter()  # entry_id -> requests that accepted it
        self.amounts: dict[str, str] = {}
        self.lines: dict[str, dict[str, str]] = {}  # entry_id -> the journal line posted
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/journal"

    def start(self) -> FaultyErp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def export(self, path: Path, leave_out: int = 0) -> None:
        """The ERP's posted lines as the export `recon ledger check` reads, less the first
        ``leave_out``."""
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["entry_id", "agreement_id", "period", "currency", "amount", "kind"])
            for line in list(self.lines.values())[leave_out:]:
                w.writerow(
                    [
                        line[c]
                        for c in (
                            "entry_id",
                            "agreement_id",
                            "period",
                            "currency",
                            "amount",
                            "kind",
                        )
                    ]
                )

    def answers(self) -> Counter[str]:
        with self.lock:
            return Counter(answer for _, _, answer in self.posts)

    def _take(self, key: str, body: dict[str, Any]) -> str:
        """The answer to this request: its fault, or 409 for a key accepted before, or
        ok. A request is accepted (its entries counted) when its key is new and its fault
        lets it through: none, ``slow`` or ``lost`` (whose answer never arrives)."""
        with self.lock:
            fault = self.faults.popleft() if self.faults else "ok"
            replay = key in self.keys
            if not replay and fault in ("ok", "slow", "lost"):
                self.keys.add(key)
                for line in body["entries"]:
                    # a journal line's entry_id, or an inventory event's event_id
                    line_id = line.get("entry_id") or line["event_id"]
                    if self.unique_entries and line_id in self.accepted:
                        self.replayed_lines += 1
                        continue
                    self.accepted[line_id] += 1
                    self.amounts[line_id] = line.get("amount", "")
                    self.lines[line_id] = line
            answer = "409" if replay and fault == "ok" else fault
            self.posts.append((time.monotonic(), key, answer))
            return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        erp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real API would

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = erp._take(self.headers.get("Idempotency-Key", ""), body)
                if answer == "reset":
                    # Linger 0: close() sends a TCP reset, no answer at all.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    return
                if answer == "slow":
                    time.sleep(SLOW_SECONDS)
                    self._reply(201, {"status": "posted"})
                elif answer == "ok":
                    self._reply(201, {"status": "posted"})
                elif answer == "409":
                    self._reply(409, {"status": "already posted"})
                elif answer == "429":
                    self._reply(429, {"error": "slow down"}, {"Retry-After": "1"})
                elif answer == "422":
                    self._reply(422, {"error": "account cogs_vendor_rebates is closed"})
                else:  # 503, lost
                    self._reply(503, {"error": "maintenance"})

            def _reply(
                self, status: int, doc: dict[str, str], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(doc).encode()
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the client gave up (timeout)

        return Handler
