"""The acknowledgement ledger over key-value state (docs/edi-controls.md).

Requests come from ingest, one per group or interchange read (streams/formats/x12/acks.py),
keyed by partner, so all of a partner's requests meet in one partition and one row:

- ``m:<request id>`` -> ``{"n": control number}``: the request is done. The same received
  interchange ingested again, or a request redelivered after a crash, asks nothing more.
- ``p:<partner>`` -> ``{"n", "sent", "acked", "ta1", "now", "res", "seq", "out"}``: the
  last control number of our interchanges to the partner, the groups we sent it (by
  functional id and GS06), the acknowledgements it sent for them, the TA1s it sent for our
  interchanges (by ISA13), the partner's clock, the open exceptions, and the outputs of the
  last write (acks to render, exception events: the outbox the relay publishes).
- ``w:<partition>`` -> ``{partner: earliest due}``: partners with a group not acknowledged
  yet, so a tick finds the overdue ones without scanning the table.

The direction of a group is its sender: one of our own ids (``own``) means we sent it and
expect a 997/999 back; anyone else's group gets one from us (none for an FA group:
acknowledgements are not acknowledged, they are matched to the groups we sent).

Control numbers: ISA13 = GS06 = the row's counter + 1, written in the same row (one
changelog record) as the ack that uses it, so no number is given twice or lost, whatever
the crashes and restarts; numbers are unique per partner (X12 asks for unique numbers per
sender/receiver pair) and wrap after 999,999,999.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.domain.models.keys import digest
from streams.domain.state import KeyValueState
from streams.domain.threeway.engine import diff

ACKS = "acks"
ACK_OVERDUE = "ack_overdue"
ACK_REJECTED = "ack_rejected"
REJECTED = frozenset({"R", "P", "M", "W", "X"})
"""AK901/AK501 statuses that refuse all or part of a group."""
MAX_CONTROL = 999_999_999
DUPLICATE_NOTE = "025"
"""TA105: duplicate interchange control number."""
TA1_RANK = {"A": 0, "E": 1, "R": 2}
"""Two TA1s for one interchange: the worse verdict stands, whichever came first."""
TA1_NOTES = {
    "000": "no error",
    "001": "the ISA and IEA control numbers do not match",
    "002": "the control standard is not supported",
    "003": "the version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid sender id qualifier",
    "006": "invalid sender id",
    "007": "invalid receiver id qualifier",
    "008": "invalid receiver id",
    "009": "unknown receiver id",
    "014": "invalid interchange date",
    "015": "invalid interchange time",
    "017": "invalid version",
    "018": "invalid control number",
    "021": "invalid number of included groups",
    "022": "invalid control structure",
    "023": "premature end of file",
    "024": "invalid interchange content",
    "025": "duplicate interchange control number",
    "026": "invalid element separator",
    "027": "invalid component separator",
}
"""TA105 notes, worded for the exception (X12's code list; others are shown by number)."""


@dataclass(frozen=True)
class AckConfig:
    own: frozenset[str]
    timeout_micros: int


def number(control: str) -> str:
    """A control number as compared: numbers as numbers (``000000102`` = ``102``)."""
    return str(int(control)) if control.isdigit() else control


def group_key(fid: str, control: str) -> str:
    """A group by functional id and GS06."""
    return f"{fid}:{number(control)}"


def ack_kind(request: dict[str, Any]) -> str:
    if request["type"] == "interchange":
        return "TA1"
    version = request["gs"]["version"]
    return "999" if version[:3].isdigit() and version[:3] >= "005" else "997"


def _body(
    kind: str, partner: str, us: str, key: str, sent: dict[str, Any], details: str
) -> dict[str, Any]:
    fid, control = key.split(":", 1)
    body: dict[str, Any] = {
        "kind": kind,
        "record_type": "functional_group",
        "record_id": f"{fid} {control}",
        "po": "",
        "line": "",
        "buyer": us,
        "seller": partner,
        "details": details,
        "differences": [],
        "partner_type": None,
        "partner_id": None,
    }
    if sent.get("c"):
        body["refs"] = [[sent["c"], sent.get("tp", "")]]
    return body


def _reused(mark: dict[str, Any], request: dict[str, Any]) -> bool:
    """A partner group marked done before, now with other content (both hashes known)."""
    return (
        request["type"] == "group"
        and request["gs"]["fid"] != "FA"
        and bool(mark.get("h"))
        and bool(request.get("content"))
        and mark["h"] != request["content"]
    )


def evaluate(row: dict[str, Any], partner: str) -> dict[str, dict[str, Any]]:
    """The open exceptions of a partner's row: rejected groups, overdue groups."""
    out: dict[str, dict[str, Any]] = {}
    ta1s: dict[str, dict[str, Any]] = row.get("ta1", {})
    for key, sent in sorted(row["sent"].items()):
        ack = row["acked"].get(key)
        fid, control = key.split(":", 1)
        ta1 = ta1s.get(number(sent["isa"]))
        if ta1 is not None and ta1["status"] == "R":  # the envelope refused: no 997 will come
            note = TA1_NOTES.get(ta1["note"], "see the X12 code list")
            details = (
                f"group {fid} {control} we sent to {partner} was in interchange {sent['isa']}, "
                f"which the partner rejected with a TA1 (note {ta1['note']}: {note})"
            )
            body = _body(ACK_REJECTED, partner, sent["us"], key, sent, details)
            body["differences"] = [["interchange", "R", "A"]]
            out[digest("ack", ACK_REJECTED, partner, key)] = body
        elif ack is not None and ack["status"] in REJECTED:
            sets = ", ".join(f"{s['st01']} {s['st02']} {s['status']}" for s in ack["sets"])
            details = (
                f"group {fid} {control} we sent to {partner} (interchange {sent['isa']}) was "
                f"acknowledged {ack['status']}: {ack['accepted'] or '?'} of "
                f"{ack['included'] or '?'} sets accepted" + (f" ({sets})" if sets else "")
            )
            body = _body(ACK_REJECTED, partner, sent["us"], key, sent, details)
            body["differences"] = [["status", ack["status"], "A"]]
            out[digest("ack", ACK_REJECTED, partner, key)] = body
        elif ack is None and row["now"] >= sent["due"]:
            details = (
                f"group {fid} {control} we sent to {partner} (interchange {sent['isa']}, "
                f"{sent['sets']} sets) has no 997/999 after the ack timeout"
            )
            out[digest("ack", ACK_OVERDUE, partner, key)] = _body(
                ACK_OVERDUE, partner, sent["us"], key, sent, details
            )
    return out


class AckEngine:
    def __init__(self, state: KeyValueState, config: AckConfig) -> None:
        self.state = state
        self.config = config

    def partner_of(self, request: dict[str, Any]) -> str:
        isa = request["isa"]
        return str(isa["receiver"] if isa["sender"] in self.config.own else isa["sender"])

    def apply(
        self, request: dict[str, Any], partition: int, at: int, correlation_id: str = ""
    ) -> str:
        """Apply one request at ``at`` (micros); returns what it did: ``replay``, ``ack``
        (an ack to send), ``sent`` (a group we sent, now awaited), ``acked`` (a partner's
        acks or TA1 recorded) or ``ignored`` (our own acks and TA1s)."""
        mark_key = f"m:{request['id']}"
        mark = self.state.get(mark_key)
        isa = request["isa"]
        ours = isa["sender"] in self.config.own
        if mark is not None:
            if ours or not _reused(mark, request):
                return "replay"
            return self._reused_interchange(request, at)
        partner = self.partner_of(request)
        row_key = f"p:{partner}"
        row = self._row(row_key, at)
        outputs: list[dict[str, Any]] = []
        fid = request["gs"]["fid"] if request["type"] == "group" else ""
        if ours and request["type"] == "group" and fid != "FA":
            key = group_key(fid, request["gs"]["control"])
            due = at + self.config.timeout_micros
            row["sent"][key] = {
                "isa": isa["control"],
                "us": isa["sender"],
                "sets": len(request["sets"]),
                "at": at,
                "due": due,
                "c": correlation_id,
            }
            self._await(partition, partner, due)
            what = "sent"
        elif ours:
            what = "ignored"
        elif fid == "FA":
            for ack in request["acks"]:
                row["acked"][group_key(ack["fid"], ack["control"])] = {
                    "status": ack["status"],
                    "sets": ack["sets"],
                    "included": ack.get("included", ""),
                    "accepted": ack.get("accepted", ""),
                    "at": at,
                }
            what = "acked"
        elif request["type"] == "ta1":
            ta1 = request["ta1"]
            verdicts: dict[str, Any] = row.setdefault("ta1", {})
            interchange = number(ta1["control"])
            held = verdicts.get(interchange)
            mine = (TA1_RANK[ta1["status"]], ta1["note"])
            if held is None or mine > (TA1_RANK[held["status"]], held["note"]):
                verdicts[interchange] = {"status": ta1["status"], "note": ta1["note"], "at": at}
            what = "acked"
        else:
            row["n"] = row["n"] % MAX_CONTROL + 1
            slim = {k: v for k, v in request.items() if k not in ("acks", "messages")}
            doc = {"type": ack_kind(request), "control": row["n"], "at": at, "request": slim}
            outputs.append({"to": ACKS, "key": partner, "doc": doc})
            what = "ack"
        self._write(row_key, row, partner, at, outputs)
        mark = {"n": row["n"] if what == "ack" else 0}
        if request.get("content"):
            mark["h"] = request["content"]
        self.state.put(mark_key, mark)
        return what

    def _row(self, row_key: str, at: int) -> dict[str, Any]:
        row = self.state.get(row_key) or {
            "n": 0,
            "sent": {},
            "acked": {},
            "now": 0,
            "res": {},
            "seq": 0,
        }
        row["now"] = max(row["now"], at)
        return row

    def _reused_interchange(self, request: dict[str, Any], at: int) -> str:
        """A partner group with the control numbers (ISA13, GS06) of one already received
        but other content: the partner reused an interchange control number. Its sets are
        duplicates by their envelope keys (docs/domain.md §1.2), so the partner is told with
        one TA1 ``R`` note 025 per such interchange, instead of nothing."""
        isa = request["isa"]
        ident = (isa["sender"], isa["receiver"], isa["control"], isa["date"], isa["time"])
        once_key = "m:025:" + digest(*ident, request["content"])
        if self.state.get(once_key) is not None:
            return "replay"
        partner = self.partner_of(request)
        row_key = f"p:{partner}"
        row = self._row(row_key, at)
        row["n"] = row["n"] % MAX_CONTROL + 1
        slim = {"type": "interchange", "isa": isa, "status": "R", "note": DUPLICATE_NOTE}
        doc = {"type": "TA1", "control": row["n"], "at": at, "request": slim}
        self._write(row_key, row, partner, at, [{"to": ACKS, "key": partner, "doc": doc}])
        self.state.put(once_key, {"n": row["n"]})
        return "ack"

    def tick(self, partition: int, now: int) -> int:
        """Re-evaluate the partners of ``partition`` with a group due by ``now``."""
        wheel_key = f"w:{partition}"
        wheel: dict[str, int] = self.state.get(wheel_key) or {}
        due = sorted(p for p, deadline in wheel.items() if deadline <= now)
        for partner in due:
            row_key = f"p:{partner}"
            row = self.state.get(row_key)
            del wheel[partner]
            if row is None:
                continue
            row["now"] = max(row["now"], now)
            self._write(row_key, row, partner, now, [])
            later = [
                s["due"]
                for k, s in row["sent"].items()
                if k not in row["acked"] and s["due"] > row["now"]
            ]
            if later:
                wheel[partner] = min(later)
        if due:
            self.state.put(wheel_key, wheel)
        return len(due)

    def _await(self, partition: int, partner: str, due: int) -> None:
        wheel_key = f"w:{partition}"
        wheel: dict[str, int] = self.state.get(wheel_key) or {}
        if partner not in wheel or due < wheel[partner]:
            wheel[partner] = due
            self.state.put(wheel_key, wheel)

    def _write(
        self, row_key: str, row: dict[str, Any], partner: str, at: int, outputs: list[Any]
    ) -> None:
        results = evaluate(row, partner)
        seq = row["seq"] + 1
        row["out"] = outputs + diff(row["res"], results, row_key, seq, at)
        row["res"], row["seq"] = results, seq
        self.state.put(row_key, row)
