"""Window ticks: one encoding for both matches."""

from __future__ import annotations

import pytest

from streams.domain.matching import messages
from streams.domain.matching.messages import Tick
from streams.formats import ticks

pytestmark = pytest.mark.unit


def test_a_tick_round_trips_and_is_the_matching_message() -> None:
    tick = Tick(1_700_000_000_000_000, final=True)
    raw = ticks.encode(tick)
    assert ticks.decode(ticks.TICK_KEY, raw) == tick
    assert raw == messages.encode(tick)  # the group stage reads the same bytes
    assert messages.decode(raw) == tick


def test_a_tick_without_op_is_read() -> None:
    assert ticks.decode(b"tick", b'{"now": 5, "final": false}') == Tick(5, False)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (b"PO-1", ticks.encode(Tick(1))),  # not the tick key
        (b"tick", b"ISA*00*..."),  # a record keyed tick by chance
        (b"tick", b'{"op": "upsert", "now": 1}'),
        (b"tick", b'{"final": true}'),
        (b"tick", b""),
        (None, None),
    ],
)
def test_anything_else_is_not_a_tick(key: bytes | None, value: bytes | None) -> None:
    assert ticks.decode(key, value) is None
