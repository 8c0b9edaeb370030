"""The delivery tests' PostgreSQL: one private server per test session (like the broker),
and per test its own schema; plus a ledger topic holding synthetic entries."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker.postgres import LocalPostgres
from streams.settings import Settings
from tests.integration.delivery.processes import Deliverer

# A stable dir outside pytest's 0700 tmp dirs: when we are root the server runs as the
# postgres user, which must reach its data directory.
TEST_POSTGRES_HOME = Path(os.environ.get("RECON_TEST_POSTGRES_HOME", "/tmp/recon-test-postgres"))
TEST_POSTGRES_PORT = 29442


def local_postgres(home: Path, port: int) -> LocalPostgres:
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    return LocalPostgres(Settings(home=home, postgres_port=port))


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """RECON_POSTGRES_DSN if set, else the session's local server. A server that fails to
    start fails every test that needs it: never a skip. Sessions share it like the broker
    (a lease: the last one out stops it)."""
    existing = os.environ.get("RECON_POSTGRES_DSN")
    if existing:
        yield existing
        return
    server = local_postgres(TEST_POSTGRES_HOME, TEST_POSTGRES_PORT)
    with (TEST_POSTGRES_HOME / "sessions.lease").open("w") as lease:
        fcntl.flock(lease, fcntl.LOCK_SH)
        try:
            server.start()
            yield server.dsn
        finally:
            fcntl.flock(lease, fcntl.LOCK_UN)
            try:
                fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                server.stop()


@pytest.fixture
def delivery_settings(isolated_settings: Settings, postgres_dsn: str) -> Settings:
    """The test's topics and group, its own schema on the session's PostgreSQL, fast
    breaker and retries."""
    return isolated_settings.with_overrides(
        postgres_dsn=postgres_dsn,
        postgres_schema=f"t_{uuid.uuid4().hex[:10]}",
        deliver_poll_seconds=0.1,
        breaker_fail_max=3,
        breaker_reset_seconds=1.0,
        session_timeout_seconds=6.0,
    )


@pytest.fixture
def deliverers() -> Iterator[list[Deliverer]]:
    """The `recon deliver` processes a test starts: none outlives it."""
    started: list[Deliverer] = []
    yield started
    for d in started:
        d.reap()
