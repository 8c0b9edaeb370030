"""Guarantee 3 (docs/design.md): the broker is stopped and restarted mid-stream. The ingest
producer and the running worker ride it out (client retries; the worker process is never
restarted and must still be alive, the ingest must not fail), then the usual checks:
ledger to the cent, audit reconciles, no entry id with two amounts.

It runs on its own throw-away broker (ports 29196/29197, below the ephemeral range), never
on the session's shared one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker.server import LocalBroker
from streams.settings import Settings
from tests.integration.chaos import (
    Feed,
    Worker,
    check_books,
    create_topics,
    wait_for_members,
    wait_for_progress,
)

pytestmark = pytest.mark.integration

PORTS = {"broker_port": 29196, "controller_port": 29197}
LINES = 6000


@pytest.fixture
def own_broker(kafka_settings: Settings, tmp_path: Path) -> Iterator[LocalBroker]:
    if not kafka_settings.uses_local_broker:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS is set: this test needs a broker it may stop")
    broker = LocalBroker(Settings(home=tmp_path / "broker-home", **PORTS))
    broker.start()  # a start failure fails the test (BrokerError), never a skip
    try:
        yield broker
    finally:
        broker.stop()


def test_a_broker_restart_mid_stream_keeps_the_books_exact(
    own_broker: LocalBroker, tmp_path: Path
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        topic_prefix="restart",
        app_id="recon-restart",
        bootstrap_servers=own_broker.bootstrap,
        dedupe_horizon_days=0,  # the generated feed has fixed dates (see tests/conftest.py)
    )
    feed = Feed.write(tmp_path, LINES, seed=47)
    create_topics(settings)
    rng = random.Random(47)
    feeder = feed.ingest_in_background(settings, pause=6.0)  # ~72 s of arrivals
    worker = Worker(settings, tmp_path / "worker.log")
    wait_for_members(settings, 1)
    wait_for_progress(settings, worker)
    time.sleep(rng.uniform(0.0, 3.0))

    assert own_broker.stop()
    time.sleep(rng.uniform(3.0, 8.0))  # producer and worker retry meanwhile
    assert own_broker.start()

    wait_for_progress(settings, worker)  # same process: it rode the outage out
    feeder.join_checked()  # the ingest did not fail either
    worker.stop()
    books = check_books(settings, feed)
    print(
        f"\nbroker restart test: {LINES} lines, {books.entries} ledger entries, "
        f"{books.duplicate_copies} duplicate entry_id copies on the ledger topic"
    )
