"""The output events of matching, as JSON documents carried in outbox entries.

Every event has a deterministic ``event_id`` (the writing row, its sequence number and the
event's position in that write) and the row's ``seq``, so consumers can dedupe re-relayed
copies and fold the latest state per ``pair_id`` / ``exception_id`` by highest ``seq``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from streams.domain.matching.rules import Pair, plain
from streams.domain.models.keys import digest
from streams.domain.models.trades import Side


class Kind(StrEnum):
    UNMATCHED_TRADE = "unmatched_trade"
    UNMATCHED_CONFIRMATION = "unmatched_confirmation"
    MISMATCH = "mismatch"
    DUPLICATE_CONFLICT = "duplicate_conflict"


def unmatched_kind(side: Side) -> Kind:
    return Kind.UNMATCHED_TRADE if side is Side.TRADE else Kind.UNMATCHED_CONFIRMATION


def ref(rec: Mapping[str, Any]) -> list[str]:
    """``[correlation id, traceparent]`` of a stored record (empty for rows written before
    trace propagation). Events keep these so an ``unmatched`` pair or a ``resolved``
    exception still names its records after they left the group row."""
    return [rec.get("c", ""), rec.get("tp", "")]


def event_id(row: str, seq: int, index: int) -> str:
    return digest("event", row, seq, index)


def exception_id(kind: Kind, side: Side, record_id: str, version: int, *qualifier: object) -> str:
    return digest("exception", kind.value, side.value, record_id, version, *qualifier)


def exception_body(
    *,
    exception: str,
    kind: Kind,
    side: Side,
    record_id: str,
    version: int,
    key: dict[str, str],
    group: str,
    details: str,
    differences: list[tuple[str, str, str]] | None = None,
    partner: tuple[Side, str, int] | None = None,
    refs: list[list[str]] | None = None,
) -> dict[str, Any]:
    """An exception as stored while open (the event adds status, ids and times). ``refs``:
    the records it concerns (see ``ref``), the one it is about first."""
    return {
        "exception_id": exception,
        "kind": kind.value,
        "record_type": side.value,
        "record_id": record_id,
        "version": version,
        "buyer": key["buyer"],
        "seller": key["seller"],
        "product": key["product"],
        "partner_type": partner[0].value if partner else None,
        "partner_id": partner[1] if partner else None,
        "partner_version": partner[2] if partner else None,
        "differences": [
            {"field": f, "value": mine, "partner_value": theirs}
            for f, mine, theirs in differences or []
        ],
        "details": details,
        "group_key": group,
        "refs": refs or [],
    }


def exception_event(
    body: dict[str, Any], status: str, row: str, seq: int, index: int, at: int
) -> dict[str, Any]:
    return {
        **body,
        "event_id": event_id(row, seq, index),
        "status": status,
        "seq": seq,
        "event_at": at,
    }


def pair_body(p: Pair, matched_at: int, refs: list[list[str]] | None = None) -> dict[str, Any]:
    """A live pair as stored in its group row; ``refs``: the trade's, then the confirmation's."""
    return {
        "pair_id": p.pair_id,
        "trade_id": p.trade.record_id,
        "trade_version": p.trade.version,
        "confirm_id": p.confirm.record_id,
        "confirm_version": p.confirm.version,
        "match_type": p.match_type.value,
        "quantity_diff": plain(p.diff.quantity),
        "price_diff": plain(p.diff.price),
        "trade_time_diff_micros": p.diff.time_micros,
        "matched_at": matched_at,
        "refs": refs or [],
    }


def match_event(
    body: dict[str, Any],
    event: str,
    reason: str | None,
    group: str,
    row: str,
    seq: int,
    index: int,
    at: int,
) -> dict[str, Any]:
    return {
        **body,
        "event_id": event_id(row, seq, index),
        "event": event,
        "reason": reason,
        "group_key": group,
        "seq": seq,
        "event_at": at,
    }


def describe(differences: list[tuple[str, str, str]]) -> str:
    return "; ".join(f"{f} {mine} vs {theirs}" for f, mine, theirs in differences)
