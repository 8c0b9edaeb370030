"""The claims agent's per-partition engines and its sweep schedule."""

from __future__ import annotations

from typing import Any, cast

import pytest

from streams.domain.claims.rules import Tolerances
from streams.runtime.pipelines.claims import ClaimEngines
from streams.runtime.state.batch import BatchTableState

pytestmark = pytest.mark.unit

TOL = Tolerances()


def engines() -> ClaimEngines:
    return ClaimEngines(cast("BatchTableState", cast("Any", object())), TOL)


def test_each_partition_has_its_own_engine_and_dirty_set() -> None:
    e = engines()
    assert e.of(0) is e.of(0)
    assert e.of(0) is not e.of(1)
    assert e.of(0).state is e.of(1).state  # one shared table, routed by the current event


def test_a_sweep_is_due_once_per_interval_per_partition_and_always_at_the_end() -> None:
    e = engines()
    assert e.sweep_due(0, 300, final=False)  # the first tick after a start sweeps
    assert not e.sweep_due(0, 300, final=False)
    assert e.sweep_due(1, 300, final=False)  # another partition's clock
    assert e.sweep_due(0, 300, final=True)  # the end of a drain
    assert e.sweep_due(0, 0.0, final=False)
