"""kill -9 of `recon deliver postgres` mid-stream, three times: the table ends equal to the
ledger to the cent, with no duplicate rows (offsets and rows commit in one transaction)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from streams.kafka import topics as t
from streams.settings import Settings
from tests.integration.delivery.ledger_feed import postings, publish, wait_until
from tests.integration.delivery.processes import Deliverer
from tests.integration.delivery.test_postgres import assert_equal_to_ledger, rows

pytestmark = pytest.mark.integration

ENTRIES = 12_000
KILLS = 3
PROGRESS_PER_RUN = 400  # rows a run delivers before it is killed: mid-stream, not at start


def progressed(settings: Settings, run: Deliverer, before: int) -> Callable[[], bool]:
    return lambda: rows(settings) >= before + PROGRESS_PER_RUN or not run.alive()


def test_kill_9_mid_stream_three_times(
    delivery_settings: Settings, deliverers: list[Deliverer], tmp_path: Path
) -> None:
    settings = delivery_settings.with_overrides(deliver_batch_max=20)
    t.create_topics(settings)
    publish(settings, postings(ENTRIES, seed=5), duplicate_every=11)
    log = tmp_path / "deliver.log"
    for kill in range(KILLS):
        run = Deliverer(settings, "postgres", log)
        deliverers.append(run)
        wait_until(progressed(settings, run, rows(settings)), 180, f"progress, kill {kill + 1}")
        assert rows(settings) < ENTRIES, "the feed was delivered before the kill: not mid-stream"
        deliverers[-1].kill_9()
    deliverers.append(Deliverer(settings, "postgres", log))
    wait_until(lambda: rows(settings) == ENTRIES or not deliverers[-1].alive(), 300, "every entry")
    assert deliverers[-1].stop() == 0, f"recon deliver exit status: see {log}"
    assert_equal_to_ledger(settings)
