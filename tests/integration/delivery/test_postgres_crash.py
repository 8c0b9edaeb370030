"""kill -9 of `recon deliver postgres` mid-stream, three times: the table ends equal to the
ledger to the cent, with no duplicate rows (offsets and rows commit in one transaction)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.kafka import topics as t
from streams.settings import Settings
from streams.tools.batch import worker_env
from tests.integration.delivery.ledger_feed import postings, publish, wait_until
from tests.integration.delivery.test_postgres import assert_equal_to_ledger, rows

pytestmark = pytest.mark.integration

ENTRIES = 12_000
KILLS = 3
PROGRESS_PER_RUN = 400  # rows a run delivers before it is killed: mid-stream, not at start


class Deliverer:
    """`recon deliver postgres` in its own process group (SIGKILL takes every thread)."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams", "deliver", "postgres", "--metrics-port", "0"],
                env=worker_env(settings),
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill_9(self) -> None:
        assert self.alive(), f"recon deliver died on its own: see {self.log}"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def progressed(settings: Settings, run: Deliverer, before: int) -> Callable[[], bool]:
    return lambda: rows(settings) >= before + PROGRESS_PER_RUN or not run.alive()


@pytest.fixture
def deliverers() -> Iterator[list[Deliverer]]:
    started: list[Deliverer] = []
    yield started
    for d in started:
        if d.alive():
            os.killpg(d.proc.pid, signal.SIGKILL)
            d.proc.wait(timeout=30)


def test_kill_9_mid_stream_three_times(
    delivery_settings: Settings, deliverers: list[Deliverer], tmp_path: Path
) -> None:
    settings = delivery_settings.with_overrides(deliver_batch_max=20)
    t.create_topics(settings)
    publish(settings, postings(ENTRIES, seed=5), duplicate_every=11)
    log = tmp_path / "deliver.log"
    for kill in range(KILLS):
        run = Deliverer(settings, log)
        deliverers.append(run)
        wait_until(progressed(settings, run, rows(settings)), 180, f"progress, kill {kill + 1}")
        assert rows(settings) < ENTRIES, "the feed was delivered before the kill: not mid-stream"
        deliverers[-1].kill_9()
    deliverers.append(Deliverer(settings, log))
    wait_until(lambda: rows(settings) == ENTRIES or not deliverers[-1].alive(), 300, "every entry")
    assert deliverers[-1].stop() == 0, f"recon deliver exit status: see {log}"
    assert_equal_to_ledger(settings)
