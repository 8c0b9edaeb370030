"""Acknowledgements as X12: 997 (004010), 999 (005010) and TA1, rendered and read back.

Rendering takes an ack request (:mod:`~streams.formats.x12.acks`) and the control number
the worker gave it; the output is one interchange from us (the received ISA08) to the
partner (the received ISA06): delimiters ``*``, ``>``, ``~`` (and ``^`` for repetitions
in 00501), one FA group holding one 997 or 999, or a TA1 alone. What a partner sends us
back is read by :func:`read_functional_ack` (AK1, AK2, AK5/IK5, AK9) and :func:`read_ta1`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams.domain.models.keys import digest
from streams.errors import Category
from streams.formats.x12.sets import Fault, InterchangeInfo, TransactionSet
from streams.formats.x12.tokenizer import Position, X12Error

IMPLEMENTATION_999 = "005010X231A1"
_UNSAFE = re.compile(r"[*~>^\r\n]")


def ack_type(group_version: str) -> str:
    """999 for a group of version 005010 or later, else 997."""
    return "999" if group_version[:3].isdigit() and group_version[:3] >= "005" else "997"


def _safe(text: str, size: int = 99) -> str:
    """An element value that cannot break our delimiters (AK404/IK404 copy bad data)."""
    return _UNSAFE.sub(" ", text)[:size]


def _isa(request: dict[str, Any], control: int, at: datetime, version: str) -> str:
    isa = request["isa"]
    rep = "^" if version >= "00501" else "U"
    return (
        f"ISA*00*{'':10}*00*{'':10}*{isa['receiver_q']:<2}*{isa['receiver']:<15}*"
        f"{isa['sender_q']:<2}*{isa['sender']:<15}*{at:%y%m%d}*{at:%H%M}*{rep}*{version}*"
        f"{control:09d}*0*{isa['usage']}*>~"
    )


def _when(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def render_functional_ack(request: dict[str, Any], control: int, at_micros: int) -> bytes:
    """The 997 or 999 interchange acknowledging one received group."""
    gs, at = request["gs"], _when(at_micros)
    kind = ack_type(gs["version"])
    body: list[str] = []
    if kind == "999":
        body += [
            f"ST*999*0001*{IMPLEMENTATION_999}",
            f"AK1*{gs['fid']}*{gs['control']}*{gs['version']}",
        ]
        seg, elem, done = "IK3", "IK4", "IK5"
    else:
        body += ["ST*997*0001", f"AK1*{gs['fid']}*{gs['control']}"]
        seg, elem, done = "AK3", "AK4", "AK5"
    accepted = 0
    for entry in request["sets"]:
        body.append(f"AK2*{_safe(entry['st01'], 3)}*{_safe(entry['st02'], 9)}")
        for error in entry["segments"]:
            body.append(f"{seg}*{error['id']}*{error['pos']}**{error['code']}")
            for el in error["elements"]:
                value = _safe(el["value"])
                body.append(f"{elem}*{el['pos']}**{el['code']}" + (f"*{value}" if value else ""))
        body.append("*".join([done, entry["status"], *entry["codes"][:5]]))
        accepted += entry["status"] in ("A", "E")
    body.append(
        "*".join(
            [
                "AK9",
                group_status(request),
                str(request["included"]),
                str(len(request["sets"])),
                str(accepted),
                *request["group_errors"][:5],
            ]
        )
    )
    version = "00501" if kind == "999" else "00401"
    gs_version = IMPLEMENTATION_999 if kind == "999" else "004010"
    segments = [
        _isa(request, control, at, version),
        f"GS*FA*{gs['receiver']}*{gs['sender']}*{at:%Y%m%d}*{at:%H%M}*{control}*X*{gs_version}~",
        *(f"{s}~" for s in body),
        f"SE*{len(body) + 1}*0001~",
        f"GE*1*{control}~",
        f"IEA*1*{control:09d}~",
    ]
    return "".join(segments).encode()


def group_status(request: dict[str, Any]) -> str:
    """AK901: A all accepted; E accepted, errors noted (trailer); P some sets rejected;
    R none accepted."""
    statuses = [entry["status"] for entry in request["sets"]]
    accepted = sum(s in ("A", "E") for s in statuses)
    if not statuses or accepted == 0:
        return "R"
    if accepted < len(statuses):
        return "P"
    return "E" if request["group_errors"] or "E" in statuses else "A"


def render_ta1(request: dict[str, Any], control: int, at_micros: int) -> bytes:
    """A TA1 for a received interchange: its envelope errors (or none, when ISA14 asked)."""
    isa, at = request["isa"], _when(at_micros)
    version = "00501" if isa["version"] >= "00501" else "00401"
    ta1 = f"TA1*{isa['control']}*{isa['date']}*{isa['time']}*{request['status']}*{request['note']}~"
    return (_isa(request, control, at, version) + ta1 + f"IEA*0*{control:09d}~").encode()


def read_functional_ack(ts: TransactionSet) -> list[dict[str, Any]]:
    """What a received 997/999 says about the groups it acknowledges: for each AK1, the
    functional id and group control number, AK9's status and the sets' statuses."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    open_set: dict[str, str] | None = None
    for seg in ts.segments[1:-1]:
        sid = seg.id
        if sid == "AK1":
            current = {"fid": seg.get(1), "control": seg.get(2), "status": "", "sets": []}
            out.append(current)
        elif current is None:
            continue
        elif sid == "AK2":
            open_set = {"st01": seg.get(1), "st02": seg.get(2), "status": ""}
            current["sets"].append(open_set)
        elif sid in ("AK5", "IK5") and open_set is not None:
            open_set["status"] = seg.get(1)
        elif sid == "AK9":
            current |= {"status": seg.get(1), "included": seg.get(2), "received": seg.get(3)}
            current["accepted"] = seg.get(4)
    return out


TA1_STATUSES = frozenset({"A", "E", "R"})
"""TA104: accepted, accepted with errors noted, rejected."""
# TA1 element: (name in the facts, what it must be, check)
_TA1_ELEMENTS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("control", "the 9-digit control number of the interchange acknowledged", re.compile(r"\d{9}")),
    ("date", "a date YYMMDD", re.compile(r"\d{6}")),
    ("time", "a time HHMM", re.compile(r"\d{4}")),
    ("status", "A, E or R", re.compile(r"[AER]")),
    ("note", "a 3-digit note code", re.compile(r"\d{3}")),
)


@dataclass(frozen=True)
class ReceivedTa1:
    """A TA1 a partner sent us: its verdict on the envelope of one of our interchanges
    (TA101), found where X12 puts it, in an interchange and outside any group."""

    interchange: InterchangeInfo
    raw: bytes
    position: Position
    facts: dict[str, str]
    """control (TA101), date, time, status (TA104) and note (TA105)."""

    @property
    def idempotency_key(self) -> str:
        """The same TA1 replayed collides: sender, receiver, ISA13 and the TA101 it names."""
        isa = self.interchange
        ident = (isa.sender_id, isa.receiver_id, isa.control_number, self.facts["control"])
        return digest("x12-ta1", *ident)

    def standalone_bytes(self) -> bytes:
        """The TA1 in its own interchange (the original ISA, an IEA of no groups)."""
        sep, term = self.interchange.delimiters.element, self.interchange.delimiters.segment_bytes
        trailer = f"IEA{sep}0{sep}{self.interchange.control_number}".encode() + term
        return self.interchange.raw + self.raw + trailer

    def document(self) -> str:
        return json.dumps(self.facts, sort_keys=True)


def read_ta1(fault: Fault) -> ReceivedTa1 | Fault | None:
    """A TA1 the reader met outside a set: the partner's TA1 if it is where X12 allows one
    and well formed, a fault naming the wrong element if not, None for any other fault."""
    isa, error = fault.interchange, fault.error
    if error.segment_id != "TA1" or fault.scope != "segment" or isa is None:
        return None
    position = error.position or Position(0, 0)
    if fault.group is not None:
        message = "a TA1 inside a functional group (X12 puts it before the first GS)"
        return _ta1_fault(fault, message, None, None)
    delimiters = isa.delimiters
    text = fault.raw.decode("latin-1").strip()
    text = text.removesuffix(delimiters.segment).strip()
    values = [v.strip() for v in text.split(delimiters.element)[1:]]
    facts: dict[str, str] = {}
    for n, (name, rule, pattern) in enumerate(_TA1_ELEMENTS, start=1):
        value = values[n - 1] if n <= len(values) else ""
        if pattern.fullmatch(value) is None:
            shown = "missing" if not value else f"{value!r}, which is not that"
            message = f"TA1{n:02d} must be {rule}; it is {shown}"
            return _ta1_fault(fault, message, f"TA1{n:02d}", value or None)
        facts[name] = value
    return ReceivedTa1(isa, fault.raw, position, facts)


def _ta1_fault(fault: Fault, message: str, element: str | None, value: str | None) -> Fault:
    error = X12Error(
        Category.SCHEMA_VIOLATION,
        message,
        segment_id="TA1",
        element=element,
        value=value,
        position=fault.error.position,
    )
    return Fault(error, fault.scope, fault.raw, fault.raw_length, fault.interchange, fault.group)
