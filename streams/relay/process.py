"""The outbox relay in a process of its own, forked from the worker at start.

As a thread of the worker it held about a sixth of the worker's GIL, while the worker's
process ran at 100 % of one core and the second core was half idle (the broker's). In its
own process it takes none of the agents' time. What it shares with the worker:

- its metrics: recorded in the relay process and applied to the worker's registry after
  each batch (``observability.remote_metrics``), so ``/metrics`` is unchanged;
- its failure: reported over the same pipe; the worker fails its drain and exits non-zero
  exactly as when the thread failed. A relay process that dies without a word (killed, out
  of memory) counts as failed too;
- its life: it stops when the worker asks, and on its own as soon as the worker is gone
  (kill -9 included), so no orphan keeps relaying.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

from streams.observability.metrics import Metrics
from streams.observability.remote_metrics import MetricRecorder, apply_ops
from streams.relay.outbox import OutboxRelay
from streams.relay.publish import RelayHandler
from streams.settings import Settings

log = logging.getLogger(__name__)


class RelayFailed(RuntimeError):
    """The relay process stopped relaying before it was asked to."""


def _relay_main(relay: OutboxRelay, stop: Event, conn: Connection, worker: int) -> None:
    # Ctrl-C reaches the whole process group: the worker stops first, then stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    recorder = MetricRecorder(relay.metrics)

    def orphaned() -> bool:
        return os.getppid() != worker

    def tell(kind: str, payload: object) -> None:
        with contextlib.suppress(OSError):  # the worker is gone: nobody left to tell
            conn.send((kind, payload))

    try:
        relay.run(lambda: stop.is_set() or orphaned(), lambda: tell("metrics", recorder.take()))
    except BaseException as exc:
        if not orphaned():
            log.exception("outbox relay failed")
        tell("failed", f"{type(exc).__name__}: {exc}")
    finally:
        tell("metrics", recorder.take())
        conn.close()


class RelayProcess:
    def __init__(
        self, settings: Settings, handlers: dict[str, RelayHandler], metrics: Metrics
    ) -> None:
        self.relay = OutboxRelay(settings, handlers, metrics)
        self.failure: RelayFailed | None = None
        context = multiprocessing.get_context("fork")  # the handlers are closures
        self._stop = context.Event()
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_relay_main,
            args=(self.relay, self._stop, send, os.getpid()),
            name="outbox-relay",
            daemon=True,
        )
        self._send = send
        self._listener = threading.Thread(target=self._listen, name="relay-metrics", daemon=True)

    def start(self) -> None:
        """Fork the relay; call before the worker starts threads or Kafka clients."""
        if not self.relay.handlers:
            return
        self._process.start()
        self._send.close()  # the relay's end: EOF here once the relay process is gone
        self._listener.start()

    def _listen(self) -> None:
        while True:
            try:
                kind, payload = self._receive.recv()
            except (EOFError, OSError):
                break
            if kind == "metrics":
                apply_ops(self.relay.metrics, payload)  # here: the worker's registry
            elif kind == "failed":
                self.failure = RelayFailed(payload)
        self._process.join()
        if not self._stop.is_set() and self.failure is None:
            self.failure = RelayFailed(f"relay process exited with {self._process.exitcode}")

    def stop(self, timeout: float = 30.0) -> None:
        if self._process.pid is None:
            return
        self._stop.set()
        # Only the listener reaps the process (it joins it once the pipe closes): a second
        # join here raced it, and lost races read as "did not stop" on a clean stop.
        self._listener.join(timeout)
        if self._listener.is_alive():
            log.warning("outbox relay did not stop within %.0f s: killing it", timeout)
            self._process.kill()  # not reaped yet: its pipe is still open
            self._listener.join()
