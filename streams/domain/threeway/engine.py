"""The three-way engine over key-value state: documents in, result events out (outbox).

Keys (one partition's state; a routing key's documents all live in its partition):

- ``d:<idempotency key>`` -> ``{"c": correlation id}``: the set that owns the key. Another
  copy (same interchange ingested again) is a duplicate; the owner reprocessed after a
  crash is applied again, idempotently (documents are stored by idempotency key).
- ``o:<routing key>`` -> ``{"docs", "res", "seq", "closed", "out", "gone"}``: the documents,
  the current results, the write sequence, whether the waiting window closed, the events of
  the last write (published by the outbox relay), and the envelope keys retracted from the
  order (a copy the identity book displaced by its original: never applied again).
- ``w:<partition>`` -> ``{routing key: deadline micros}``: orders with an invoice (or a
  210) whose waiting window is open, so a tick closes them without scanning the table.
- ``r:<SCAC>`` -> ``{rate key: row}``: the carrier's rate table (current row versions).
- ``f:<SCAC>`` -> ``{routing key: 1}``: the carrier's 210s in this partition, re-rated when
  a row of its table changes (a carrier's rows and bills share the partition).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from streams.domain.models.keys import digest
from streams.domain.models.outcome import Outcome
from streams.domain.state import KeyValueState
from streams.domain.threeway.duplicates import suspected_duplicates
from streams.domain.threeway.rules import MATCHED, PriceTolerance, RateAudit, evaluate
from streams.domain.threeway.summary import FREIGHT, INVOICE

MATCHES, EXCEPTIONS = "matches", "exceptions"


@dataclass(frozen=True)
class ThreeWayConfig:
    tolerance: PriceTolerance
    window_micros: int
    near_duplicate_days: int = 30
    rate_tolerance: Decimal = Decimal("0.01")
    require_rate_table: bool = False


def _event(
    rid: str, body: dict[str, Any], change: str, row: str, seq: int, index: int, at: int
) -> dict[str, Any]:
    """One outbox entry: a match event (``matched``/``unmatched``) or an exception event
    (``open``/``resolved``); its id is deterministic, so a re-relayed copy is recognisable."""
    event = {**body, "id": rid, "event_id": digest("event", row, seq, index), "seq": seq}
    event["event_at"] = at
    if body["kind"] == MATCHED:
        return {"to": MATCHES, "key": rid, "doc": {**event, "event": change}}
    return {"to": EXCEPTIONS, "key": rid, "doc": {**event, "status": change}}


def diff(
    old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], row: str, seq: int, at: int
) -> list[dict[str, Any]]:
    """Events turning ``old`` results into ``new``: gone ones end, new or changed ones open."""
    out: list[dict[str, Any]] = []
    for rid in sorted(old.keys() - new.keys()):
        body = old[rid]
        change = "unmatched" if body["kind"] == MATCHED else "resolved"
        out.append(_event(rid, body, change, row, seq, len(out), at))
    for rid in sorted(new):
        if old.get(rid) != new[rid]:
            change = "matched" if new[rid]["kind"] == MATCHED else "open"
            out.append(_event(rid, new[rid], change, row, seq, len(out), at))
    return out


class ThreeWayEngine:
    def __init__(self, state: KeyValueState, config: ThreeWayConfig) -> None:
        self.state = state
        self.config = config

    def apply(
        self,
        doc: dict[str, Any],
        routing_key: str,
        idempotency_key: str,
        correlation_id: str,
        partition: int,
        arrived: int,
        at: int,
        traceparent: str = "",
    ) -> Outcome:
        """Add one document; ``arrived`` (ingest time, micros) opens an invoice's window.
        The document keeps its correlation id and ``traceparent`` (this hop's span): the
        results name the documents they concern, and their events continue the trace."""
        mark_key = f"d:{idempotency_key}"
        mark = self.state.get(mark_key)
        if mark is not None and mark["c"] != correlation_id:
            return Outcome.DUPLICATE
        row_key = f"o:{routing_key}"
        row = self.state.get(row_key) or {"docs": {}, "res": {}, "seq": 0, "closed": False}
        if idempotency_key in row.get("gone", ()):  # displaced by its original: stays out
            if mark is None:
                self.state.put(mark_key, {"c": correlation_id})
            return Outcome.DUPLICATE
        # setdefault: the owner redelivered after a crash has a new hop span, which must not
        # change the stored document (its results, hence their events, would change).
        row["docs"].setdefault(
            idempotency_key,
            {**doc, "idem": idempotency_key, "c": correlation_id, "tp": traceparent},
        )
        if doc["t"] in (INVOICE, FREIGHT) and not row["closed"]:
            self._open_window(partition, routing_key, arrived + self.config.window_micros)
        if doc["t"] == FREIGHT and doc.get("scac"):
            bills_key = f"f:{doc['scac']}"
            bills: dict[str, Any] = self.state.get(bills_key) or {}
            if routing_key not in bills:
                self.state.put(bills_key, {**bills, routing_key: 1})
        self._write(row_key, row, at)
        if mark is None:
            self.state.put(mark_key, {"c": correlation_id})
        return Outcome.APPLIED

    def displaced(self, routing_key: str, idempotency_key: str) -> bool:
        """Whether the document was taken out of its order by :meth:`retract`."""
        row = self.state.get(f"o:{routing_key}") or {}
        return idempotency_key in row.get("gone", ())

    def retract(self, routing_key: str, idempotency_key: str, at: int) -> None:
        """Take a document out of its order for good: the identity book found an earlier
        copy of it (identities.py). Idempotent; a retraction that arrives before the
        document keeps it out when it comes."""
        row_key = f"o:{routing_key}"
        row = self.state.get(row_key) or {"docs": {}, "res": {}, "seq": 0, "closed": False}
        gone: list[str] = row.setdefault("gone", [])
        if idempotency_key in gone:
            return
        gone.append(idempotency_key)
        row["docs"].pop(idempotency_key, None)
        self._write(row_key, row, at)

    def apply_rate(
        self, scac: str, rate_key: str, row: dict[str, str] | None, idempotency_key: str,
        correlation_id: str, at: int,
    ) -> Outcome:  # fmt: skip
        """A rate row: the current version of ``rate_key`` in the carrier's table (None:
        the key is deleted); every bill of the carrier in this partition is re-rated."""
        mark_key = f"d:{idempotency_key}"
        mark = self.state.get(mark_key)
        if mark is not None and mark["c"] != correlation_id:
            return Outcome.DUPLICATE
        table_key = f"r:{scac}"
        table: dict[str, dict[str, str]] = self.state.get(table_key) or {}
        if table.get(rate_key) != row:
            if row is None:
                del table[rate_key]
            else:
                table[rate_key] = row
            self.state.put(table_key, table)
            for key in sorted(self.state.get(f"f:{scac}") or {}):
                row_key = f"o:{key}"
                order = self.state.get(row_key)
                if order is not None:
                    self._write(row_key, order, at)
        if mark is None:
            self.state.put(mark_key, {"c": correlation_id})
        return Outcome.APPLIED

    def seen(self, idempotency_key: str, correlation_id: str) -> Outcome:
        """A set the match does not read: applied once, then its copies are duplicates."""
        mark_key = f"d:{idempotency_key}"
        mark = self.state.get(mark_key)
        if mark is not None and mark["c"] != correlation_id:
            return Outcome.DUPLICATE
        self.state.put(mark_key, {"c": correlation_id})
        return Outcome.APPLIED

    def tick(self, partition: int, now: int, final: bool) -> int:
        """Close the due windows of ``partition`` (all of them when ``final``)."""
        wheel_key = f"w:{partition}"
        wheel: dict[str, int] = self.state.get(wheel_key) or {}
        due = sorted(k for k, deadline in wheel.items() if final or deadline <= now)
        for key in due:
            row_key = f"o:{key}"
            row = self.state.get(row_key)
            if row is not None and not row["closed"]:
                row["closed"] = True
                self._write(row_key, row, now)
            del wheel[key]
        if due:
            self.state.put(wheel_key, wheel)
        return len(due)

    def _open_window(self, partition: int, key: str, deadline: int) -> None:
        wheel_key = f"w:{partition}"
        wheel: dict[str, int] = self.state.get(wheel_key) or {}
        if key not in wheel:  # the first invoice's arrival starts the wait
            wheel[key] = deadline
            self.state.put(wheel_key, wheel)

    def _write(self, row_key: str, row: dict[str, Any], at: int) -> None:
        docs = row["docs"].values()
        scacs = {d["scac"] for d in docs if d["t"] == FREIGHT and d.get("scac")}
        tables = {scac: self.state.get(f"r:{scac}") or {} for scac in scacs}
        audit = RateAudit(tables, self.config.rate_tolerance, self.config.require_rate_table)
        results = evaluate(docs, row["closed"], self.config.tolerance, audit)
        results.update(suspected_duplicates(docs, self.config.near_duplicate_days))
        seq = row["seq"] + 1
        row["out"] = diff(row["res"], results, row_key, seq, at)
        row["res"], row["seq"] = results, seq
        self.state.put(row_key, row)
