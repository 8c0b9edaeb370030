"""When a record's matching window closes, and the persistent timer wheel that finds it.

A record's window closes at the first of (docs/matching.md):

- event time: the partition's watermark reaches ``trade_time + time tolerance + allowed
  lateness``; the watermark is the *smaller* of the latest trade time seen among trades and
  among confirmations, so one feed running ahead cannot close the other's windows;
- wall clock: the partition clock reaches ``arrival + timeout`` (a quiet feed still closes);
- end of input: a final tick (``worker --drain`` with close-windows) closes every window of
  the records that arrived before it (``n <= fin``).

Only an unmatched record's window matters (a closed unmatched record becomes an exception).
Groups with an open window are registered in a wheel per kind: buckets of ``width`` µs,
listed per span of SPAN buckets, listed in one top row, so no row grows with the backlog.
Writes go top-down when adding and bottom-up when removing, so a crash between two writes
leaves at worst an empty entry, which is skipped and cleaned up.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass
from typing import Any

from streams.domain.state import MatchState

SPAN = 1440  # buckets listed per span row
EVENT_WIDTH = 60_000_000  # event-time buckets: one minute
WALL_WIDTH = 1_000_000  # wall-clock buckets: one second


@dataclass
class Clock:
    """Per-partition time: the clock (max message time), the latest trade time per side,
    the arrival counter ``n`` and ``fin``, the counter at the last end-of-input close."""

    clock: int = 0
    max_trade: int | None = None
    max_confirm: int | None = None
    n: int = 0
    fin: int = 0

    @property
    def watermark(self) -> int | None:
        if self.max_trade is None or self.max_confirm is None:
            return None
        return min(self.max_trade, self.max_confirm)

    def see(self, is_trade: bool, trade_time: int) -> None:
        """Advance the latest trade time of one side (the watermark is the smaller of two)."""
        if is_trade:
            self.max_trade = max(trade_time, self.max_trade or trade_time)
        else:
            self.max_confirm = max(trade_time, self.max_confirm or trade_time)

    def expired(self, rec: dict[str, Any]) -> bool:
        wm = self.watermark
        return (
            rec["n"] <= self.fin or self.clock >= rec["wd"] or (wm is not None and wm >= rec["ev"])
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "mt": self.max_trade,
            "mc": self.max_confirm,
            "n": self.n,
            "fin": self.fin,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> Clock:
        if doc is None:
            return cls()
        return cls(doc["clock"], doc["mt"], doc["mc"], doc["n"], doc["fin"])


class Wheel:
    """Group keys by deadline bucket, for one partition and one kind of deadline."""

    def __init__(self, state: MatchState, partition: int, kind: str, width: int) -> None:
        self.state = state
        self.prefix = f"w:{partition}:{kind}"
        self.width = width

    def _top(self) -> str:
        return self.prefix

    def _span(self, span: int) -> str:
        return f"{self.prefix}:s:{span}"

    def _bucket(self, bucket: int) -> str:
        return f"{self.prefix}:b:{bucket}"

    def add(self, deadline: int, group: str) -> None:
        bucket = deadline // self.width
        span = bucket // SPAN
        for key, field, item in (
            (self._top(), "s", span),
            (self._span(span), "b", bucket),
        ):
            row = self.state.get(key) or {field: []}
            if item not in row[field]:
                insort(row[field], item)
                self.state.put(key, row)
        key = self._bucket(bucket)
        row = self.state.get(key) or {"g": []}
        if group not in row["g"]:
            insort(row["g"], group)
            self.state.put(key, row)

    def due(self, value: int | None) -> list[tuple[int, list[str]]]:
        """Buckets wholly at or before ``value`` (every bucket when None), with their groups."""
        out: list[tuple[int, list[str]]] = []
        for span in (self.state.get(self._top()) or {"s": []})["s"]:
            if value is not None and (span * SPAN + 1) * self.width > value:
                break
            for bucket in (self.state.get(self._span(span)) or {"b": []})["b"]:
                if value is not None and (bucket + 1) * self.width > value:
                    return out
                out.append((bucket, (self.state.get(self._bucket(bucket)) or {"g": []})["g"]))
        return out

    def remove(self, buckets: list[int]) -> None:
        if not buckets:
            return
        gone = set(buckets)
        for bucket in buckets:
            self.state.delete(self._bucket(bucket))
        top = self.state.get(self._top()) or {"s": []}
        spans = list(top["s"])
        for span in sorted({b // SPAN for b in buckets}):
            row = self.state.get(self._span(span)) or {"b": []}
            left = [b for b in row["b"] if b not in gone]
            if left:
                self.state.put(self._span(span), {"b": left})
            else:
                self.state.delete(self._span(span))
                if span in spans:
                    spans.remove(span)
        if not spans:
            self.state.delete(self._top())
        elif spans != top["s"]:
            self.state.put(self._top(), {"s": spans})
