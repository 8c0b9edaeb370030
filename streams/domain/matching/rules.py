"""The matching rules of docs/domain.md §4.4 as pure functions over one match group.

``pair`` is a function of the *set* of live records only: candidates are ranked by a total
order (exact before tolerance, then smallest |Δtime|, |Δquantity|, |Δprice|, then the lowest
trade id and confirmation id) and taken greedily, each record at most once. Nothing depends
on arrival order, so recomputing the pairing of a group after any change and diffing it
against the stored one gives the same final pairing whatever order the records came in.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from streams.domain.models.keys import pair_id

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MatchType(StrEnum):
    EXACT = "exact"
    TOLERANCE = "tolerance"


@dataclass(frozen=True)
class Leg:
    """What matching needs of one live record version (key fields are the group's)."""

    record_id: str
    version: int
    quantity: Decimal
    price: Decimal
    trade_time: int  # microseconds since the epoch, UTC


@dataclass(frozen=True)
class Tolerances:
    quantity: Decimal = Decimal("0")
    price: Decimal = Decimal("0.01")
    time_micros: int = 300_000_000

    @classmethod
    def of(cls, quantity: Decimal, price: Decimal, time_seconds: float) -> Tolerances:
        return cls(quantity, price, round(time_seconds * 1_000_000))


@dataclass(frozen=True)
class Diff:
    """Confirmation minus trade, per compared field."""

    quantity: Decimal
    price: Decimal
    time_micros: int

    @property
    def exact(self) -> bool:
        return not self.quantity and not self.price and not self.time_micros

    @property
    def rank(self) -> tuple[int, Decimal, Decimal]:
        return abs(self.time_micros), abs(self.quantity), abs(self.price)

    def within(self, tol: Tolerances) -> bool:
        return (
            abs(self.quantity) <= tol.quantity
            and abs(self.price) <= tol.price
            and abs(self.time_micros) <= tol.time_micros
        )


@dataclass(frozen=True)
class Pair:
    trade: Leg
    confirm: Leg
    match_type: MatchType
    diff: Diff

    @property
    def pair_id(self) -> str:
        return pair_id(
            self.trade.record_id, self.trade.version, self.confirm.record_id, self.confirm.version
        )


def diff(trade: Leg, confirm: Leg) -> Diff:
    return Diff(
        confirm.quantity - trade.quantity,
        confirm.price - trade.price,
        confirm.trade_time - trade.trade_time,
    )


def pair(trades: Iterable[Leg], confirms: Iterable[Leg], tol: Tolerances) -> list[Pair]:
    """The pairing of one group: exact pairs first, then tolerance pairs, by the §4.4 ranking."""
    by_time = sorted(confirms, key=lambda c: (c.trade_time, c.record_id))
    times = [c.trade_time for c in by_time]
    ranked: list[tuple[tuple[int, int, Decimal, Decimal, str, str], Pair]] = []
    for t in trades:
        # Only confirmations within the time tolerance can match: a bisect, not all pairs.
        lo = bisect_left(times, t.trade_time - tol.time_micros)
        hi = bisect_right(times, t.trade_time + tol.time_micros)
        for c in by_time[lo:hi]:
            d = diff(t, c)
            if d.exact:
                kind = MatchType.EXACT
            elif d.within(tol):
                kind = MatchType.TOLERANCE
            else:
                continue
            key = (0 if kind is MatchType.EXACT else 1, *d.rank, t.record_id, c.record_id)
            ranked.append((key, Pair(t, c, kind, d)))
    ranked.sort(key=lambda item: item[0])
    taken_t: set[str] = set()
    taken_c: set[str] = set()
    chosen: list[Pair] = []
    for _, p in ranked:
        if p.trade.record_id in taken_t or p.confirm.record_id in taken_c:
            continue
        taken_t.add(p.trade.record_id)
        taken_c.add(p.confirm.record_id)
        chosen.append(p)
    return sorted(chosen, key=lambda p: (p.trade.record_id, p.confirm.record_id))


def nearest(leg: Leg, others: Iterable[Leg], leg_is_trade: bool) -> tuple[Leg, Diff] | None:
    """The closest record of the other side by the §4.4 ranking (the partner of a mismatch)."""
    best: tuple[tuple[int, Decimal, Decimal, str], Leg, Diff] | None = None
    for other in others:
        d = diff(leg, other) if leg_is_trade else diff(other, leg)
        key = (*d.rank, other.record_id)
        if best is None or key < best[0]:
            best = (key, other, d)
    return None if best is None else (best[1], best[2])


def differing_fields(trade: Leg, confirm: Leg) -> list[tuple[str, str, str]]:
    """(field, trade value, confirmation value) for each compared field that differs."""
    out = []
    if trade.quantity != confirm.quantity:
        out.append(("quantity", plain(trade.quantity), plain(confirm.quantity)))
    if trade.price != confirm.price:
        out.append(("price", plain(trade.price), plain(confirm.price)))
    if trade.trade_time != confirm.trade_time:
        out.append(("trade_time", iso(trade.trade_time), iso(confirm.trade_time)))
    return out


def plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def iso(micros: int) -> str:
    return (EPOCH + timedelta(microseconds=micros)).isoformat()
