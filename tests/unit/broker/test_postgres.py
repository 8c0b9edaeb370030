"""The local PostgreSQL refuses a port another process holds, naming what to do, rather
than leaving pg_ctl's "Address already in use" in its log."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from streams.broker.postgres import LocalPostgres
from streams.errors import BrokerError
from streams.settings import Settings

pytestmark = pytest.mark.unit


def test_start_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = LocalPostgres(Settings(home=tmp_path, postgres_port=port))
        with pytest.raises(BrokerError, match=f"port {port} .*already in use.*RECON_POSTGRES_PORT"):
            server.start()
    assert not (server.data_dir / "PG_VERSION").exists()
