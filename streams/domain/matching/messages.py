"""What flows between the stages: match-input messages (JSON) and outbox entries.

The record stage (keyed by record id) tells the group stage (keyed by match group) which
version of a record is live where: ``Upsert`` adds or replaces a record version in a group,
``Retract`` removes every version below ``floor`` from a group (an amendment that moved the
record elsewhere, or a cancellation). ``Tick`` is the self-addressed clock message that lets
a partition close its expired windows (a Faust timer cannot write tables: no current event).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from streams.domain.models.trades import Side

INPUT = "input"
MATCHES = "matches"
EXCEPTIONS = "exceptions"


@dataclass(frozen=True)
class Upsert:
    side: Side
    record_id: str
    version: int
    group: str
    key: dict[str, str]  # the group's key fields, for the outputs
    quantity: str
    price: str
    trade_time: int  # microseconds since the epoch
    correlation_id: str
    # The record stage's hop span: the group stage stores it with the record, so match and
    # exception events (relayed later, maybe after the record left) can continue the trace.
    traceparent: str = ""


@dataclass(frozen=True)
class Retract:
    side: Side
    record_id: str
    group: str
    floor: int  # versions below are dead in this group
    reason: str  # "amended" (moved to another group) or "cancelled"
    correlation_id: str
    traceparent: str = ""


@dataclass(frozen=True)
class Tick:
    now: int  # sender's wall clock, microseconds since the epoch
    final: bool = False  # close every window (end of input in a batch run)


Message = Upsert | Retract | Tick


def to_json(msg: Message) -> dict[str, Any]:
    if isinstance(msg, Upsert):
        return {
            "op": "upsert",
            "side": msg.side.value,
            "id": msg.record_id,
            "v": msg.version,
            "g": msg.group,
            "k": msg.key,
            "q": msg.quantity,
            "p": msg.price,
            "t": msg.trade_time,
            "c": msg.correlation_id,
            "tp": msg.traceparent,
        }
    if isinstance(msg, Retract):
        return {
            "op": "retract",
            "side": msg.side.value,
            "id": msg.record_id,
            "g": msg.group,
            "floor": msg.floor,
            "reason": msg.reason,
            "c": msg.correlation_id,
            "tp": msg.traceparent,
        }
    return {"op": "tick", "now": msg.now, "final": msg.final}


def from_json(doc: dict[str, Any]) -> Message:
    op = doc["op"]
    if op == "upsert":
        return Upsert(
            Side(doc["side"]),
            doc["id"],
            int(doc["v"]),
            doc["g"],
            dict(doc["k"]),
            doc["q"],
            doc["p"],
            int(doc["t"]),
            doc.get("c", ""),
            doc.get("tp", ""),  # messages written before trace propagation have neither
        )
    if op == "retract":
        return Retract(
            Side(doc["side"]),
            doc["id"],
            doc["g"],
            int(doc["floor"]),
            doc["reason"],
            doc.get("c", ""),
            doc.get("tp", ""),
        )
    if op == "tick":
        return Tick(int(doc["now"]), bool(doc["final"]))
    raise ValueError(f"unknown match-input op {op!r}")


def encode(msg: Message) -> bytes:
    return json.dumps(to_json(msg), separators=(",", ":"), sort_keys=True).encode("utf-8")


def decode(raw: bytes) -> Message:
    return from_json(json.loads(raw))


def entry(to: str, key: str, doc: dict[str, Any]) -> dict[str, Any]:
    """One outbox entry: the relay publishes ``doc`` to the ``to`` topic keyed by ``key``."""
    return {"to": to, "key": key, "doc": doc}
