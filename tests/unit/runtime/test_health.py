"""Readiness follows the latest rebalance's recovery, and the standby setting reaches Faust."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from streams.runtime.app import create_app
from streams.runtime.health import partitions_restored
from streams.settings import Settings

pytestmark = pytest.mark.unit


def recovery(completed: bool, in_recovery: bool) -> SimpleNamespace:
    event = asyncio.Event()
    if completed:
        event.set()
    return SimpleNamespace(completed=event, in_recovery=in_recovery)


@pytest.mark.parametrize(
    ("completed", "in_recovery", "ready"),
    [
        (False, False, False),  # starting: no recovery finished yet
        (False, True, False),  # first recovery under way
        (True, True, False),  # a rebalance handed over partitions still being replayed
        (True, False, True),
    ],
)
def test_ready_only_when_the_assigned_partitions_are_restored(
    completed: bool, in_recovery: bool, ready: bool
) -> None:
    assert partitions_restored(recovery(completed, in_recovery)) is ready


def test_the_app_starts_recovery_with_the_real_recovery_service(tmp_path: Path) -> None:
    app, _ = create_app(Settings(home=tmp_path))
    service = app.tables.recovery  # type: ignore[attr-defined]
    assert partitions_restored(service) is False  # the attributes the probe reads exist


@pytest.mark.parametrize("standbys", [0, 1, 2])
def test_table_standby_replicas_reach_faust(tmp_path: Path, standbys: int) -> None:
    app, _ = create_app(Settings(home=tmp_path, table_standby_replicas=standbys))
    assert app.conf.table_standby_replicas == standbys
