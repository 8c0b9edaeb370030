"""The worker's run settings: a drain spaces the window ticks the worker sends itself so
that two drain checks in a row can see the inputs' ends unchanged."""

from __future__ import annotations

import pytest

from streams.runtime.runner import drain_settings
from streams.settings import Settings

pytestmark = pytest.mark.unit


def test_short_ticks_are_spaced_for_a_drain() -> None:
    settings = Settings().with_overrides(match_tick_seconds=0.5, drain_idle_seconds=1.5)
    assert drain_settings(settings).match_tick_seconds == 3.0


def test_ticks_already_far_enough_apart_are_kept() -> None:
    settings = Settings().with_overrides(match_tick_seconds=10.0, drain_idle_seconds=1.5)
    assert drain_settings(settings) is settings
