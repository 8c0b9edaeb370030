"""Window ticks: the clock message a pipeline sends to every partition of its own input
topic, so windows close on the wall clock when a feed goes quiet. One encoding for every
pipeline: key ``tick``, value the JSON of :class:`~streams.domain.matching.messages.Tick`."""

from __future__ import annotations

import json

from streams.domain.matching.messages import Tick

TICK_KEY = b"tick"


def encode(tick: Tick) -> bytes:
    return json.dumps(
        {"op": "tick", "now": tick.now, "final": tick.final}, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")


def decode(key: bytes | None, value: bytes | None) -> Tick | None:
    """The tick a message carries, or None for any other message (a record keyed ``tick``
    by chance included: its value is not a tick)."""
    if key != TICK_KEY or not value:
        return None
    try:
        doc = json.loads(value)
        if doc.get("op", "tick") != "tick":
            return None
        return Tick(int(doc["now"]), bool(doc.get("final", False)))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
