"""The plain, non-streaming answer: what the pipeline must converge to once every window has
closed. Used by the property tests and by `make demo` as a self-check.

Records are given in the order the record stage sees them; that order matters only for a
conflicting duplicate (the first content of an id and version stays in force). For CSV
files, file order is that order whenever the conflicting copies share their key fields
(they then travel through the same partitions); streams/tools/references.py reads them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from streams.domain.matching.events import Kind, unmatched_kind
from streams.domain.matching.rules import Leg, Tolerances, nearest, pair
from streams.domain.models.trades import MatchRecord, Side, Status, micros

PairRow = tuple[str, int, str, int, str]  # trade id, version, confirm id, version, match type
ExceptionRow = tuple[str, str, str, int]  # kind, record type, record id, version


@dataclass(frozen=True)
class Expected:
    pairs: frozenset[PairRow]
    exceptions: frozenset[ExceptionRow]


def leg_of(rec: MatchRecord) -> Leg:
    return Leg(rec.record_id, rec.version, rec.quantity, rec.price, micros(rec.trade_time))


def expected(records: Iterable[MatchRecord], tol: Tolerances) -> Expected:
    first: dict[tuple[Side, str, int], MatchRecord] = {}
    conflicted: set[tuple[Side, str, int]] = set()
    for rec in records:
        ident = (rec.side, rec.record_id, rec.version)
        seen = first.setdefault(ident, rec)
        if seen.content_hash != rec.content_hash:
            conflicted.add(ident)
    latest: dict[tuple[Side, str], MatchRecord] = {}
    for (side, record_id, _), rec in first.items():
        held = latest.get((side, record_id))
        if held is None or rec.version > held.version:
            latest[(side, record_id)] = rec

    groups: dict[str, dict[Side, list[Leg]]] = defaultdict(lambda: {s: [] for s in Side})
    for rec in latest.values():
        if rec.status is Status.ACTIVE:
            groups[rec.group_key][rec.side].append(leg_of(rec))
    pairs: set[PairRow] = set()
    exceptions: set[ExceptionRow] = {
        (Kind.DUPLICATE_CONFLICT.value, side.value, record_id, version)
        for side, record_id, version in conflicted
        if latest[(side, record_id)].version == version
    }
    for legs in groups.values():
        chosen = pair(legs[Side.TRADE], legs[Side.CONFIRMATION], tol)
        for p in chosen:
            pairs.add(
                (
                    p.trade.record_id,
                    p.trade.version,
                    p.confirm.record_id,
                    p.confirm.version,
                    p.match_type.value,
                )
            )
        taken = {
            Side.TRADE: {p.trade.record_id for p in chosen},
            Side.CONFIRMATION: {p.confirm.record_id for p in chosen},
        }
        free = {s: [leg for leg in legs[s] if leg.record_id not in taken[s]] for s in Side}
        for side in Side:
            for leg in free[side]:
                near = nearest(leg, free[side.other], side is Side.TRADE)
                kind = Kind.MISMATCH if near is not None else unmatched_kind(side)
                exceptions.add((kind.value, side.value, leg.record_id, leg.version))
    return Expected(frozenset(pairs), frozenset(exceptions))
