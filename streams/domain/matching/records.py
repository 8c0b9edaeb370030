"""The record stage: one place per record id that decides which version is live where.

Runs on a table partitioned by record id, so every copy and version of one trade (or
confirmation) meets here whatever its key fields. It owns the record-level rules:

- dedupe by idempotency key sha256(source : id : version); the mark names the record that
  owns the key, so the owner reprocessed after a crash is recognised (applied) and any
  other copy is a duplicate;
- the same id and version with other content is a duplicate *and* a ``duplicate_conflict``
  exception (the first content seen stays in force);
- a higher version supersedes: ``Upsert`` into its group and, when the live group changes
  (key fields amended) or the record is cancelled, ``Retract`` from the old group; a lower
  version arriving late is applied (recorded) but changes nothing.

Versions are explicit, so a redelivered older version can never roll a record back. Each
record row carries the messages of its write (``out``): the relay publishes them, so the
group stage only ever hears what this state holds.
"""

from __future__ import annotations

from typing import Any

from streams.domain.matching import messages as m
from streams.domain.matching.events import (
    Kind,
    describe,
    exception_body,
    exception_event,
    exception_id,
)
from streams.domain.models.keys import SEP, group_key
from streams.domain.models.outcome import Outcome
from streams.domain.models.trades import MatchRecord, Side, Status, micros
from streams.domain.state import KeyValueState

KEY_FIELDS = ("buyer", "seller", "product", "delivery_start", "delivery_end", "currency")


def dedupe_key(idempotency_key: str) -> str:
    return f"d:{idempotency_key}"


def record_key(side: Side, record_id: str) -> str:
    return f"r:{side.value}{SEP}{record_id}"


def upsert_of(rec: MatchRecord, correlation_id: str, traceparent: str = "") -> m.Upsert:
    c = rec.content()
    return m.Upsert(
        side=rec.side,
        record_id=rec.record_id,
        version=rec.version,
        group=rec.group_key,
        key={k: c[k] for k in KEY_FIELDS},
        quantity=c["quantity"],
        price=c["price"],
        trade_time=micros(rec.trade_time),
        correlation_id=correlation_id,
        traceparent=traceparent,
    )


class RecordBook:
    def __init__(self, state: KeyValueState) -> None:
        self.state = state

    def apply(
        self, rec: MatchRecord, correlation_id: str, at: int, traceparent: str = ""
    ) -> Outcome:
        """Apply one valid record; ``at`` (its message time, µs) stamps any event;
        ``traceparent`` (this hop's span) travels with its messages and events."""
        idem = rec.idempotency_key
        mark = self.state.get(dedupe_key(idem))
        if mark is not None and mark["o"] != correlation_id:
            if mark["h"] != rec.content_hash:
                self._conflict(rec, mark, at, [correlation_id, traceparent])
            return Outcome.DUPLICATE
        if mark is None:
            self.state.put(
                dedupe_key(idem),
                {"o": correlation_id, "h": rec.content_hash, "c": rec.content()},
            )
        key = record_key(rec.side, rec.record_id)
        row = self.state.get(key) or {"v": -1, "g": None, "seq": 0, "cf": {}}
        if rec.version <= row["v"]:
            return Outcome.APPLIED  # a late older version, or ourselves reprocessed
        live = rec.status is Status.ACTIVE
        group = rec.group_key if live else None
        out: list[dict[str, Any]] = []
        if row["g"] is not None and row["g"] != group:
            reason = "amended" if live else "cancelled"
            retract = m.Retract(
                rec.side, rec.record_id, row["g"], rec.version, reason, correlation_id, traceparent
            )
            out.append(m.entry(m.INPUT, row["g"], m.to_json(retract)))
        if live:
            upsert = upsert_of(rec, correlation_id, traceparent)
            out.append(m.entry(m.INPUT, rec.group_key, m.to_json(upsert)))
        seq = row["seq"] + 1
        for index, body in enumerate(row["cf"].values()):  # a newer version settles them
            event = exception_event(body, "resolved", key, seq, index, at)
            out.append(m.entry(m.EXCEPTIONS, body["exception_id"], event))
        self.state.put(key, {"v": rec.version, "g": group, "seq": seq, "cf": {}, "out": out})
        return Outcome.APPLIED

    def _conflict(
        self, rec: MatchRecord, mark: dict[str, Any], at: int, copy: list[str]
    ) -> None:
        """``copy``: the conflicting copy's [correlation id, traceparent]; the exception
        names it first (its trace), then the record in force (the mark's owner)."""
        key = record_key(rec.side, rec.record_id)
        row = self.state.get(key)
        if row is None or row["v"] != rec.version:
            return  # superseded by a newer version: the conflict is moot
        exc = exception_id(
            Kind.DUPLICATE_CONFLICT, rec.side, rec.record_id, rec.version, rec.content_hash
        )
        if exc in row["cf"]:
            return  # raised already (a third copy, or this one reprocessed)
        applied, other = mark["c"], rec.content()
        diffs = [(f, applied[f], other[f]) for f in sorted(applied) if applied[f] != other[f]]
        body = exception_body(
            exception=exc,
            kind=Kind.DUPLICATE_CONFLICT,
            side=rec.side,
            record_id=rec.record_id,
            version=rec.version,
            key=applied,
            group=group_key(*(applied[k] for k in KEY_FIELDS)),
            details=f"version {rec.version} arrived again with other content "
            f"(the first stays in force): {describe(diffs)}",
            differences=diffs,
            refs=[copy, [mark["o"], ""]],
        )
        seq = row["seq"] + 1
        row["cf"][exc] = body
        row["seq"] = seq
        row["out"] = [m.entry(m.EXCEPTIONS, exc, exception_event(body, "open", key, seq, 0, at))]
        self.state.put(key, row)
