"""The outbox relay's own process: its metrics reach the worker's registry, a failure or a
silent death is reported, a stop is clean, and it does not outlive its worker."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from streams.kafka import clients
from streams.observability.metrics import Metrics
from streams.relay.outbox import OutboxRelay
from streams.relay.process import RelayProcess
from streams.settings import Settings

pytestmark = pytest.mark.unit

Run = Callable[[OutboxRelay, Callable[[], bool], Callable[[], None]], None]
HANDLERS = {"app-state-changelog": lambda msg: []}


def started(run: Run, monkeypatch: pytest.MonkeyPatch) -> tuple[RelayProcess, Metrics]:
    monkeypatch.setattr(OutboxRelay, "run", run)  # the fork inherits it
    metrics = Metrics()
    relay = RelayProcess(Settings(), HANDLERS, metrics)
    relay.start()
    return relay, metrics


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def relayed(metrics: Metrics) -> float | None:
    labels = {"topic": "app-state-changelog", "stage": "relay"}
    return metrics.registry.get_sample_value("recon_records_in_total", labels)


def until_stopped(
    relay: OutboxRelay, should_stop: Callable[[], bool], after: Callable[[], None]
) -> None:
    while not should_stop():
        relay.metrics.child(relay.metrics.records_in, "app-state-changelog", "relay").inc()
        after()
        time.sleep(0.01)


def test_metrics_reach_the_worker_and_a_stop_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    relay, metrics = started(until_stopped, monkeypatch)
    wait_for(lambda: (relayed(metrics) or 0) >= 3)
    relay.stop()
    assert relay.failure is None
    count = relayed(metrics)
    time.sleep(0.1)
    assert relayed(metrics) == count  # nothing after the stop


def test_a_clean_stop_never_reads_as_a_hung_relay(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Only the listener thread may reap the process: if the stop joined it too, whichever
    # lost the race would see it "alive", log that it did not stop, and kill a reaped pid.
    for _ in range(8):
        relay, _metrics = started(until_stopped, monkeypatch)
        relay.stop()
        assert relay.failure is None
    assert "did not stop" not in caplog.text


def test_a_relay_that_hangs_is_killed_at_the_stop(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def hangs(
        relay: OutboxRelay, should_stop: Callable[[], bool], after: Callable[[], None]
    ) -> None:
        time.sleep(600)

    relay, _metrics = started(hangs, monkeypatch)
    started_at = time.monotonic()
    relay.stop(timeout=0.5)
    assert time.monotonic() - started_at < 10
    assert "did not stop" in caplog.text
    assert relay.failure is None  # asked to stop: a kill is not a relay failure


def test_a_relay_that_fails_is_reported_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(
        relay: OutboxRelay, should_stop: Callable[[], bool], after: Callable[[], None]
    ) -> None:
        relay.metrics.child(relay.metrics.records_in, "app-state-changelog", "relay").inc(2)
        raise RuntimeError("outbox relay could not deliver 3 messages")

    relay, metrics = started(fails, monkeypatch)
    wait_for(lambda: relay.failure is not None)
    relay.stop()
    assert "could not deliver 3 messages" in str(relay.failure)
    assert relayed(metrics) == 2  # what it recorded before failing still arrives


def test_a_relay_process_that_dies_silently_counts_as_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def dies(
        relay: OutboxRelay, should_stop: Callable[[], bool], after: Callable[[], None]
    ) -> None:
        os._exit(9)  # as the OOM killer would leave it: no word on the pipe

    relay, _ = started(dies, monkeypatch)
    wait_for(lambda: relay.failure is not None)
    relay.stop()
    assert "exited with 9" in str(relay.failure)


ORPHAN = textwrap.dedent(
    """
    import os, sys, time
    from streams.relay.outbox import OutboxRelay
    from streams.relay.process import RelayProcess
    from streams.observability.metrics import Metrics
    from streams.settings import Settings

    def forever(relay, should_stop, after):
        while not should_stop():
            time.sleep(0.01)

    OutboxRelay.run = forever
    relay = RelayProcess(Settings(), {"changelog": lambda msg: []}, Metrics())
    relay.start()
    print(relay._process.pid, flush=True)
    time.sleep(0.3)
    os._exit(0)  # the worker gone without stopping its relay, as after kill -9
    """
)


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state  # exited, waiting to be reaped by init


def test_the_relay_does_not_outlive_its_worker() -> None:
    worker = subprocess.run(
        [sys.executable, "-c", ORPHAN], capture_output=True, text=True, timeout=60, check=True
    )
    pid = int(worker.stdout.split()[0])
    wait_for(lambda: gone(pid), seconds=10)


def test_the_relay_consumer_fails_over_with_the_workers_session_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configs: list[dict[str, object]] = []

    class Stop(Exception):
        pass

    def consumer(config: dict[str, object]) -> None:
        configs.append(config)
        raise Stop

    monkeypatch.setattr(clients, "Consumer", consumer)
    settings = Settings(session_timeout_seconds=12)
    with pytest.raises(Stop):
        OutboxRelay(settings, HANDLERS, Metrics()).run(lambda: False, lambda: None)
    assert configs[0]["session.timeout.ms"] == 12_000
    heartbeat = configs[0]["heartbeat.interval.ms"]
    assert isinstance(heartbeat, int) and heartbeat < 12_000 / 3
