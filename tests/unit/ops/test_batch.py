"""worker_env: a subprocess built from it reads back exactly the parent's settings."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from streams.settings import Settings
from streams.tools.batch import worker_env

pytestmark = pytest.mark.unit


def test_every_setting_reaches_the_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RECON_PUSHGATEWAY_URL", "http://stale:9091")  # parent env, overridden
    parent = Settings().with_overrides(
        home=tmp_path / "home",
        topic_prefix="t1",
        match_price_tolerance=Decimal("0.05"),
        match_time_tolerance_seconds=12.5,
        close_windows_at_end_of_input=True,
        threeway_price_tolerance_percent=Decimal("1.5"),
        dedupe_horizon_days=0,
        log_format="json",
        bootstrap_servers="broker:9092",
    )
    parent = parent.model_copy(update={"pushgateway_url": None})
    env = worker_env(parent)
    assert "RECON_PUSHGATEWAY_URL" not in env
    # the child process sees env, and only env
    for name in [n for n in os.environ if n.startswith("RECON_") or n.startswith("KAFKA_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings() == parent
