"""The group stage: keeps each match group's live records, its pairing and open exceptions.

Runs on a table partitioned by match group. On every message it (1) applies the upsert or
retract to its group, (2) closes the windows that are due in the partition, then for each
group touched (3) recomputes the pairing from the live records (``rules.pair``: a function of
the set, not of arrival order), diffs it against the stored pairing and the open exceptions,
and writes the group row with the resulting events in ``out`` (the outbox the relay
publishes).

Idempotence: a record version at or below what the group holds (or below its ``floor``,
the version a retract left) changes nothing, and an unchanged group is not written, so a
message reprocessed after a crash, or relayed twice, emits nothing new. Event ids come
from (group, seq, position): a write that never reached the changelog was never relayed,
and its replacement reuses the same seq with whatever content the replay computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from streams.domain.matching import messages as m
from streams.domain.matching.events import (
    Kind,
    describe,
    exception_body,
    exception_event,
    exception_id,
    match_event,
    pair_body,
    ref,
    unmatched_kind,
)
from streams.domain.matching.rules import Leg, Tolerances, differing_fields, nearest, pair
from streams.domain.matching.windows import EVENT_WIDTH, WALL_WIDTH, Clock, Wheel
from streams.domain.models.trades import Side
from streams.domain.state import MatchState

SIDE_CODE = {Side.TRADE: "t", Side.CONFIRMATION: "c"}


@dataclass(frozen=True)
class MatchConfig:
    tolerances: Tolerances = field(default_factory=Tolerances)
    lateness: int = 3_600_000_000  # µs of event time a window stays open past its record
    timeout: int = 3_600_000_000  # µs of wall clock after arrival


def group_row_key(group: str) -> str:
    return f"g:{group}"


def clock_key(partition: int) -> str:
    return f"P:{partition}"


def rec_key(side: Side, record_id: str) -> str:
    return f"{SIDE_CODE[side]}|{record_id}"


def side_of(key: str) -> Side:
    return Side.TRADE if key.startswith("t|") else Side.CONFIRMATION


class MatchEngine:
    def __init__(self, state: MatchState, config: MatchConfig) -> None:
        self.state = state
        self.config = config

    def apply(self, msg: m.Message, partition: int, ts: int) -> None:
        """Apply one match-input message of ``partition`` whose Kafka timestamp is ``ts``."""
        doc = self.state.get(clock_key(partition))
        clock = Clock.from_json(doc)
        clock.clock = max(clock.clock, ts, msg.now if isinstance(msg, m.Tick) else 0)
        if isinstance(msg, m.Upsert):
            clock.see(msg.side is Side.TRADE, msg.trade_time)
        final = isinstance(msg, m.Tick) and msg.final
        if final:
            clock.fin = clock.n
        wheels = (
            Wheel(self.state, partition, "e", EVENT_WIDTH),
            Wheel(self.state, partition, "w", WALL_WIDTH),
        )
        wm = clock.watermark
        if final:  # end of input: every registered window is due
            due_e, due_w = wheels[0].due(None), wheels[1].due(None)
        else:
            due_e = wheels[0].due(wm) if wm is not None else []
            due_w = wheels[1].due(clock.clock)
        targets = {g for _, groups in due_e + due_w for g in groups}
        op_group = None if isinstance(msg, m.Tick) else msg.group
        if op_group is not None:
            targets.add(op_group)
        for group in sorted(targets):
            self._settle(group, msg if group == op_group else None, clock, ts, wheels)
        wheels[0].remove([b for b, _ in due_e])
        wheels[1].remove([b for b, _ in due_w])
        if clock.to_json() != doc:
            self.state.put(clock_key(partition), clock.to_json())

    # -- one group ------------------------------------------------------------------------

    def _settle(
        self,
        group: str,
        op: m.Message | None,
        clock: Clock,
        ts: int,
        wheels: tuple[Wheel, Wheel],
    ) -> None:
        key = group_row_key(group)
        row = self.state.get(key)
        if row is None:
            if op is None:
                return
            row = {"k": None, "recs": {}, "floor": {}, "pairs": {}, "exc": {}, "seq": 0}
        before = {f: row[f] for f in ("recs", "floor")}
        row["recs"], row["floor"] = dict(row["recs"]), dict(row["floor"])
        touched: dict[str, str] = {}
        if isinstance(op, m.Upsert):
            self._upsert(row, op, clock, ts, touched)
        elif isinstance(op, m.Retract):
            self._retract(row, op, touched)
        clock.n = max([clock.n, *(r["n"] for r in row["recs"].values())])
        events, pending = self._evaluate(group, row, clock, ts, touched)
        # Register open windows before the row is written: a crash in between leaves at
        # worst a stale registration (skipped when due), never an unregistered window.
        if pending is not None:
            wheels[0].add(pending[0], group)
            wheels[1].add(pending[1], group)
        if events or before != {f: row[f] for f in ("recs", "floor")}:
            row["out"] = events
            self.state.put(key, row)

    def _upsert(
        self, row: dict[str, Any], op: m.Upsert, clock: Clock, ts: int, touched: dict[str, str]
    ) -> None:
        rk = rec_key(op.side, op.record_id)
        current = row["recs"].get(rk)
        if op.version < row["floor"].get(rk, -1) or (current and current["v"] >= op.version):
            return  # superseded, or already applied
        if current is not None:
            touched[rk] = "amended"
        row["k"] = row["k"] or op.key
        clock.n += 1
        tol = self.config.tolerances
        row["recs"][rk] = {
            "v": op.version,
            "q": op.quantity,
            "p": op.price,
            "t": op.trade_time,
            "n": clock.n,
            "at": ts,
            "wd": ts + self.config.timeout,
            "ev": op.trade_time + tol.time_micros + self.config.lateness,
            "c": op.correlation_id,
            "tp": op.traceparent,
        }
        row["floor"][rk] = op.version

    @staticmethod
    def _retract(row: dict[str, Any], op: m.Retract, touched: dict[str, str]) -> None:
        rk = rec_key(op.side, op.record_id)
        row["floor"][rk] = max(row["floor"].get(rk, -1), op.floor)
        current = row["recs"].get(rk)
        if current is not None and current["v"] < op.floor:
            del row["recs"][rk]
            touched[rk] = op.reason

    def _evaluate(
        self,
        group: str,
        row: dict[str, Any],
        clock: Clock,
        ts: int,
        touched: dict[str, str],
    ) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
        """Re-pair the group and diff pairs and exceptions; returns the events and the
        earliest (event-time, wall-clock) deadline of a still-open unmatched record."""
        legs = {
            rk: Leg(rk[2:], r["v"], Decimal(r["q"]), Decimal(r["p"]), r["t"])
            for rk, r in row["recs"].items()
        }
        trades = [leg for rk, leg in legs.items() if rk.startswith("t|")]
        confirms = [leg for rk, leg in legs.items() if rk.startswith("c|")]
        pairs = {p.pair_id: p for p in pair(trades, confirms, self.config.tolerances)}
        seq, row_key = row["seq"] + 1, group_row_key(group)
        events: list[dict[str, Any]] = []

        def emit(to: str, key: str, doc: dict[str, Any]) -> None:
            events.append(m.entry(to, key, doc))

        stored: dict[str, dict[str, Any]] = row["pairs"]
        for pid in sorted(stored.keys() - pairs.keys()):
            body = stored[pid]
            reason = (
                touched.get(f"t|{body['trade_id']}")
                or touched.get(f"c|{body['confirm_id']}")
                or "re_paired"
            )
            doc = match_event(body, "unmatched", reason, group, row_key, seq, len(events), ts)
            emit(m.MATCHES, pid, doc)
        new_pairs = {}
        for pid in sorted(pairs):
            if pid in stored:
                new_pairs[pid] = stored[pid]
                continue
            p, recs = pairs[pid], row["recs"]
            refs = [ref(recs[f"t|{p.trade.record_id}"]), ref(recs[f"c|{p.confirm.record_id}"])]
            new_pairs[pid] = body = pair_body(p, ts, refs)
            doc = match_event(body, "matched", None, group, row_key, seq, len(events), ts)
            emit(m.MATCHES, pid, doc)
        row["pairs"] = new_pairs

        paired = {f"t|{p.trade.record_id}" for p in pairs.values()}
        paired |= {f"c|{p.confirm.record_id}" for p in pairs.values()}
        free = {rk: leg for rk, leg in legs.items() if rk not in paired}
        wanted: dict[str, dict[str, Any]] = {}
        deadlines: list[tuple[int, int]] = []
        for rk in sorted(free):
            rec = row["recs"][rk]
            if clock.expired(rec):
                wanted[rk] = self._exception(group, row["k"], rk, free, row["recs"])
            else:
                deadlines.append((rec["ev"], rec["wd"]))
        opened: dict[str, dict[str, Any]] = row["exc"]
        for rk in sorted(opened):
            body = opened[rk]
            if wanted.get(rk, {}).get("exception_id") != body["exception_id"]:
                doc = exception_event(body, "resolved", row_key, seq, len(events), ts)
                emit(m.EXCEPTIONS, body["exception_id"], doc)
        for rk in sorted(wanted):
            body = wanted[rk]
            if opened.get(rk, {}).get("exception_id") != body["exception_id"]:
                doc = exception_event(body, "open", row_key, seq, len(events), ts)
                emit(m.EXCEPTIONS, body["exception_id"], doc)
        row["exc"] = wanted
        if events:
            row["seq"] = seq
        pending = None
        if deadlines:
            pending = (min(d[0] for d in deadlines), min(d[1] for d in deadlines))
        return events, pending

    @staticmethod
    def _exception(
        group: str,
        key: dict[str, str],
        rk: str,
        free: dict[str, Leg],
        recs: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """``mismatch`` against the nearest free record of the other side (it exists, so it
        is outside tolerance, or the pairing would have taken it), else ``unmatched_*``."""
        side, leg = side_of(rk), free[rk]
        others = [o for ok, o in free.items() if side_of(ok) is side.other]
        found = nearest(leg, others, side is Side.TRADE)
        if found is None:
            partner_name = "confirmation" if side is Side.TRADE else "trade"
            return exception_body(
                exception=exception_id(unmatched_kind(side), side, leg.record_id, leg.version),
                kind=unmatched_kind(side),
                side=side,
                record_id=leg.record_id,
                version=leg.version,
                key=key,
                group=group,
                details=f"no {partner_name} with the same buyer, seller, product, delivery "
                "period and currency when its window closed",
                refs=[ref(recs[rk])],
            )
        other, _ = found
        trade, confirm = (leg, other) if side is Side.TRADE else (other, leg)
        diffs = differing_fields(trade, confirm)
        if side is Side.CONFIRMATION:  # (field, this record's value, the partner's value)
            diffs = [(f, theirs, mine) for f, mine, theirs in diffs]
        partner = (side.other, other.record_id, other.version)
        return exception_body(
            exception=exception_id(Kind.MISMATCH, side, leg.record_id, leg.version, *partner),
            kind=Kind.MISMATCH,
            side=side,
            record_id=leg.record_id,
            version=leg.version,
            key=key,
            group=group,
            details=f"nearest {side.other.value} {other.record_id} v{other.version} is "
            f"outside tolerance: {describe(diffs)}",
            differences=diffs,
            partner=partner,
            refs=[ref(recs[rk]), ref(recs[rec_key(side.other, other.record_id)])],
        )
