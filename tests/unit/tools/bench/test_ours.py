"""Partition skew of the raw topic: max over mean records per partition."""

from __future__ import annotations

import pytest

from streams.tools.bench.ours import skew

pytestmark = pytest.mark.unit


def test_skew() -> None:
    assert skew([10, 10, 10]) == 1.0
    assert skew([30, 0, 0]) == 3.0
    assert skew([373, 536, 150, 340, 256, 345]) == pytest.approx(536 / 333.3333)
    assert skew([0, 0]) is None
