"""Shared fixtures: the test session's Kafka broker and per-test isolated settings.

Only integration tests request ``kafka_settings`` (directly or via ``isolated_settings``),
so a unit-only run never starts Java.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker.server import LocalBroker
from streams.settings import Settings

# A stable dir, not a per-session tmp dir: a broker left behind by a killed session is then
# recognised (pid file) and reused instead of blocking the ports.
TEST_BROKER_HOME = Path(os.environ.get("RECON_TEST_BROKER_HOME", "/tmp/recon-test-broker"))
TEST_BROKER_PORT = 29192
TEST_CONTROLLER_PORT = 29193


@pytest.fixture(scope="session")
def kafka_settings() -> Iterator[Settings]:
    """Settings of the session's Kafka: KAFKA_BOOTSTRAP_SERVERS if set, else a local broker.

    Test sessions may run side by side (several engineers, one machine) and share the local
    broker. Each holds a shared lock on a lease file while it runs; at the end, whoever can
    take the lock exclusively is the last user and stops the broker (and wipes its data so
    the next session starts from an empty cluster). A start failure errors every test that
    uses the broker: it is never a skip.
    """
    # No dedupe horizon by default: examples and generated feeds have fixed dates that a
    # horizon would start refusing as the years pass (test_dedupe_horizon sets its own).
    settings = Settings(
        home=TEST_BROKER_HOME,
        broker_port=TEST_BROKER_PORT,
        controller_port=TEST_CONTROLLER_PORT,
        dedupe_horizon_days=0,
    )
    if not settings.uses_local_broker:
        yield settings  # an existing cluster: start and stop nothing
        return
    broker = LocalBroker(settings)
    TEST_BROKER_HOME.mkdir(parents=True, exist_ok=True)
    with (TEST_BROKER_HOME / "sessions.lease").open("w") as lease:
        fcntl.flock(lease, fcntl.LOCK_SH)  # before start: a finishing session must see us
        try:
            broker.start()
            yield settings
        finally:
            fcntl.flock(lease, fcntl.LOCK_UN)
            try:
                fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another session still uses the broker; it stops it when it is done
            else:
                broker.stop()
                shutil.rmtree(broker.data_dir, ignore_errors=True)


@pytest.fixture
def isolated_settings(kafka_settings: Settings, tmp_path: Path) -> Settings:
    """Fresh topic names, consumer group and state dir for one test, on the session's Kafka.

    ``bootstrap_servers`` is set explicitly: the test's ``home`` differs from the broker's,
    so code under test that calls ``ensure_broker`` must not try to start a second broker.
    Workers serve metrics on any free loopback port: tests (and sessions) run side by side.
    """
    tag = uuid.uuid4().hex[:10]
    return kafka_settings.with_overrides(
        topic_prefix=f"t{tag}",
        app_id=f"recon-test-{tag}",
        home=tmp_path / "home",
        bootstrap_servers=kafka_settings.bootstrap,
        metrics_host="127.0.0.1",
        metrics_port=0,
    )
