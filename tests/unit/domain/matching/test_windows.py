"""The persistent timer wheel: due buckets in order across spans, and clean removal."""

from __future__ import annotations

import pytest

from streams.domain.matching.windows import SPAN, Wheel
from streams.domain.state import DictState

pytestmark = pytest.mark.unit

W = 10


def test_due_buckets_in_order_across_spans_and_removal_leaves_nothing() -> None:
    state = DictState()
    wheel = Wheel(state, 0, "e", W)
    far = (SPAN + 3) * W  # in the second span
    for deadline, group in [(far, "g3"), (5, "g1"), (7, "g2"), (25, "g4"), (far + 1, "g5")]:
        wheel.add(deadline, group)
        wheel.add(deadline, group)  # idempotent
    assert wheel.due(9) == []  # bucket 0 ends at 10
    assert wheel.due(10) == [(0, ["g1", "g2"])]
    assert wheel.due(far) == [(0, ["g1", "g2"]), (2, ["g4"])]
    wheel.remove([0, 2])
    assert wheel.due(far + W) == [(SPAN + 3, ["g3", "g5"])]
    assert wheel.due(None) == [(SPAN + 3, ["g3", "g5"])]
    wheel.remove([SPAN + 3])
    assert state.data == {}


def test_a_registration_cut_short_by_a_crash_is_skipped_and_cleaned() -> None:
    state = DictState()
    wheel = Wheel(state, 1, "w", W)
    wheel.add(15, "g1")
    state.delete("w:1:w:b:1")  # the bucket row never reached the changelog
    assert wheel.due(100) == [(1, [])]
    wheel.remove([1])
    assert state.data == {}
