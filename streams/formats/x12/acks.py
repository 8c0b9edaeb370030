"""What each received functional group and interchange owes its partner: ack requests.

:class:`AckCollector` wraps the reader (it yields what :func:`parse_sets` yields) and, as
groups and interchanges end, records one **request** per group (the facts a 997 or 999
acknowledges: every set accepted or rejected with its segment and element errors, the
group's trailer errors) and one per interchange that needs a TA1 (an envelope error, or
ISA14 = 1). The worker gives each request our control numbers and the relay renders it
(:mod:`~streams.formats.x12.ack_x12`). A request is plain JSON; its ``id`` is the received
group's (or interchange's) identity, so the same interchange ingested twice asks once.

Error codes are X12's (docs/edi-controls.md has the table):

- set (AK502/IK502): 2 trailer missing, 3 control number mismatch, 4 segment count wrong,
  5 one or more segments in error, 6/7 ST01/ST02 missing;
- segment (AK304/IK304): 3 mandatory segment missing, 8 segment has data element errors;
- element (AK403/IK403): 1 mandatory element missing, 6 invalid character (not a number,
  a negative value), 7 invalid value (a code or business rule), 8 invalid date;
- group (AK905): 3 trailer missing, 4 control number mismatch, 5 set count wrong (a group
  without sets is rejected with no code);
- interchange (TA105): 001 control number mismatch, 021 group count wrong, 023 no IEA,
  024 invalid content (a broken GS, a segment outside a set).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from streams.domain.models.keys import digest
from streams.formats.x12 import ParsedDocument, extract
from streams.formats.x12.ack_x12 import ReceivedTa1, read_functional_ack, read_ta1
from streams.formats.x12.sets import Fault, GroupInfo, InterchangeInfo, TransactionSet
from streams.formats.x12.tokenizer import X12Error

_MISSING_SEGMENT = re.compile(r"has no ([A-Z][A-Z0-9]{1,2})\b")
_ELEMENT = re.compile(r"^([A-Z][A-Z0-9]{1,2}?)(\d{2})$")


def element_code(error: X12Error) -> str:
    """AK403/IK403 of an element error."""
    text = error.message
    if "is missing" in text:
        return "1"
    if "is not a date" in text:
        return "8"
    if "is not a" in text or "must not be negative" in text:
        return "6"
    return "7"


def segment_error(error: X12Error, st: TransactionSet | None) -> dict[str, Any]:
    """One AK3/IK3 (with its AK4/IK4) of an extraction error in a set."""
    missing = _MISSING_SEGMENT.search(error.message)
    if missing is not None and error.element is None:  # a mandatory segment is absent
        return {"id": missing.group(1), "pos": 2, "code": "3", "elements": []}
    pos = 0
    if st is not None and error.position is not None:
        pos = error.position.segment_index - st.position.segment_index + 1
    elements = []
    found = _ELEMENT.match(error.element or "")
    if found is not None:
        value = "" if error.value is None else str(error.value)
        elements.append({"pos": int(found.group(2)), "code": element_code(error), "value": value})
    return {"id": error.segment_id or "", "pos": max(pos, 1), "code": "8", "elements": elements}


def set_fault_code(fault: Fault) -> str:
    """AK502/IK502 of a set the envelope reader could not close."""
    element = fault.error.element or ""
    if "has no SE" in fault.error.message:
        return "2"
    return {"SE02": "3", "SE01": "4", "ST01": "6", "ST02": "7"}.get(element, "5")


def group_fault_code(fault: Fault) -> str | None:
    """AK905/IK905 of a group trailer fault; None for an empty group (X12 has no code for
    it: the group is rejected, AK9 ``R`` with no set)."""
    if "has no GE" in fault.error.message:
        return "3"
    if "has no transaction sets" in fault.error.message:
        return None
    return {"GE02": "4", "GE01": "5"}.get(fault.error.element or "", "4")


def interchange_note(fault: Fault) -> str:
    if fault.scope != "interchange":
        return "024"
    if "has no IEA" in fault.error.message:
        return "023"
    return {"IEA02": "001", "IEA01": "021"}.get(fault.error.element or "", "024")


def _isa_facts(isa: InterchangeInfo) -> dict[str, str]:
    sep = isa.delimiters.element.encode()
    parts = isa.raw.split(sep)
    requested = parts[14].strip().decode("latin-1") if len(parts) > 14 else ""
    return {
        "sender_q": isa.sender_qualifier.strip(),
        "sender": isa.sender_id.strip(),
        "receiver_q": isa.receiver_qualifier.strip(),
        "receiver": isa.receiver_id.strip(),
        "control": isa.control_number,
        "date": isa.date,
        "time": isa.time,
        "version": isa.version,
        "usage": isa.usage.strip() or "P",
        "ack_requested": requested,
    }


def _gs_facts(gs: GroupInfo) -> dict[str, str]:
    return {
        "fid": gs.functional_id,
        "sender": gs.sender,
        "receiver": gs.receiver,
        "control": gs.control_number,
        "version": gs.version,
    }


@dataclass
class _Group:
    isa: InterchangeInfo
    gs: GroupInfo
    sets: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    included: int | None = None
    acks: list[dict[str, Any]] = field(default_factory=list)
    content: Any = field(default_factory=hashlib.sha256)
    """The group's bytes read (GS, then each set or fault): the same control numbers with
    other content are another interchange reusing them (TA1 note 025)."""

    def __post_init__(self) -> None:
        self.content.update(self.gs.raw)

    def request(self, source: str) -> dict[str, Any]:
        isa, gs = _isa_facts(self.isa), _gs_facts(self.gs)
        ident = ("group", isa["sender"], isa["receiver"], isa["control"], gs["control"])
        return {
            "type": "group",
            "id": digest(*ident),
            "source": source,
            "isa": isa,
            "gs": gs,
            "sets": self.sets,
            "included": len(self.sets) if self.included is None else self.included,
            "group_errors": self.errors,
            "acks": self.acks,
            "content": self.content.hexdigest()[:32],
        }


@dataclass
class _Interchange:
    isa: InterchangeInfo
    notes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    accepted_sets: int = 0

    def request(self, source: str) -> dict[str, Any] | None:
        isa = _isa_facts(self.isa)
        if not self.notes and isa["ack_requested"] != "1":
            return None
        status = "A" if not self.notes else "E" if self.accepted_sets else "R"
        return {
            "type": "interchange",
            "id": digest("interchange", isa["sender"], isa["receiver"], isa["control"]),
            "source": source,
            "isa": isa,
            "status": status,
            "note": self.notes[0] if self.notes else "000",
            "messages": self.messages,
        }


class AckCollector:
    """Documents and faults of a reader, as :func:`parse_sets` yields them, while the
    requests of the groups and interchanges that ended accumulate in :meth:`take`."""

    def __init__(self, items: Iterable[TransactionSet | Fault], source: str = "") -> None:
        self._items = items
        self.source = source
        self._group: _Group | None = None
        self._interchange: _Interchange | None = None
        self._ready: list[dict[str, Any]] = []
        self._last: dict[str, Any] | None = None  # the entry of the set yielded last

    def take(self) -> list[dict[str, Any]]:
        """The requests completed so far (each returned once)."""
        ready, self._ready = self._ready, []
        return ready

    def reject_last(self, code: str = "5") -> None:
        """The set yielded last was not published after all (too large for Kafka): it is
        rejected, not accepted."""
        entry, self._last = self._last, None
        if entry is not None and entry["status"] == "A":
            entry |= {"status": "R", "codes": [code]}
            if self._interchange is not None:
                self._interchange.accepted_sets -= 1

    def __iter__(self) -> Iterator[ParsedDocument | Fault | ReceivedTa1]:
        for item in self._items:
            self._last = None
            if isinstance(item, TransactionSet):
                yield self._set(item)
                continue
            ta1 = read_ta1(item)
            if isinstance(ta1, ReceivedTa1):
                self._received_ta1(ta1)
                yield ta1
                continue
            item = ta1 or item  # a malformed TA1 gets the error of its element
            self._fault(item)
            yield item
        self._end_interchange()

    def _received_ta1(self, ta1: ReceivedTa1) -> None:
        """A partner's TA1 settles the groups of the interchange it names (the worker
        matches it to what we sent)."""
        self._enter_interchange(ta1.interchange)
        isa = _isa_facts(ta1.interchange)
        ident = ("ta1", isa["sender"], isa["receiver"], isa["control"], ta1.facts["control"])
        self._ready.append(
            {
                "type": "ta1",
                "id": digest(*ident),
                "source": self.source,
                "isa": isa,
                "ta1": ta1.facts,
            }
        )

    def _set(self, ts: TransactionSet) -> ParsedDocument | Fault:
        group = self._enter(ts.interchange, ts.group)
        group.content.update(ts.raw)
        entry: dict[str, Any] = {"st01": ts.set_id, "st02": ts.control_number}
        try:
            document = extract(ts)
        except X12Error as exc:
            entry |= {"status": "R", "codes": ["5"], "segments": [segment_error(exc, ts)]}
            group.sets.append(entry)
            raw, ids = ts.raw, (ts.set_id, ts.control_number)
            return Fault(exc, "transaction_set", raw, len(raw), ts.interchange, ts.group, *ids)
        entry |= {"status": "A", "codes": [], "segments": []}
        group.sets.append(entry)
        self._last = entry
        if ts.group.functional_id == "FA" and ts.set_id in ("997", "999"):
            group.acks.extend(read_functional_ack(ts))
        if self._interchange is not None:
            self._interchange.accepted_sets += 1
        return ParsedDocument(ts, document)

    def _fault(self, fault: Fault) -> None:
        isa, gs = fault.interchange, fault.group
        if isa is None or (fault.error.segment_id == "TA1" and gs is None):
            return  # an unreadable ISA (no one to address a TA1 to), or a malformed TA1
        if fault.scope == "transaction_set" and gs is not None:
            group = self._enter(isa, gs)
            group.content.update(fault.raw)
            code = set_fault_code(fault)
            group.sets.append(
                {
                    "st01": fault.set_id or "",
                    "st02": fault.control_number or "",
                    "status": "R",
                    "codes": [code],
                    "segments": [],
                }
            )
            return
        if fault.scope == "group" and gs is not None:
            group = self._enter(isa, gs)
            if (trailer_code := group_fault_code(fault)) is not None:
                group.errors.append(trailer_code)
            if fault.error.element == "GE01" and str(fault.error.value or "").isdigit():
                group.included = int(str(fault.error.value))
            return
        interchange = self._enter_interchange(isa)
        interchange.notes.append(interchange_note(fault))
        interchange.messages.append(fault.error.message)

    def _enter_interchange(self, isa: InterchangeInfo) -> _Interchange:
        if self._interchange is None or self._interchange.isa.position != isa.position:
            self._end_interchange()
            self._interchange = _Interchange(isa)
        return self._interchange

    def _enter(self, isa: InterchangeInfo, gs: GroupInfo) -> _Group:
        self._enter_interchange(isa)
        if self._group is None or self._group.gs.position != gs.position:
            self._end_group()
            self._group = _Group(isa, gs)
        return self._group

    def _end_group(self) -> None:
        if self._group is not None:
            if self._group.gs.functional_id != "FA" or self._group.acks:
                self._ready.append(self._group.request(self.source))
            self._group = None

    def _end_interchange(self) -> None:
        self._end_group()
        if self._interchange is not None:
            request = self._interchange.request(self.source)
            if request is not None:
                self._ready.append(request)
            self._interchange = None
