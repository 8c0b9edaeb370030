"""What the envelope reader yields: a transaction set with its interchange and group, or a
fault (a broken envelope, set or segment) with its original bytes, for the DLQ."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Literal

from streams.errors import Category
from streams.formats.x12.tokenizer import Delimiters, Position, Segment, X12Error

Scope = Literal["interchange", "group", "transaction_set", "segment"]


@dataclass(frozen=True)
class InterchangeInfo:
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str
    time: str
    version: str
    control_number: str
    usage: str
    delimiters: Delimiters
    position: Position
    raw: bytes = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        return _public(self)


@dataclass(frozen=True)
class GroupInfo:
    functional_id: str
    sender: str
    receiver: str
    date: str
    time: str
    control_number: str
    agency: str
    version: str
    position: Position
    raw: bytes = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        return _public(self)


def _public(info: InterchangeInfo | GroupInfo) -> dict[str, object]:
    """The fields of an envelope header for JSON: no raw bytes, nested values as dicts."""
    out: dict[str, object] = {}
    for f in fields(info):
        value = getattr(info, f.name)
        if f.name != "raw":
            out[f.name] = value.as_dict() if hasattr(value, "as_dict") else value
    return out


def idempotency_key(isa: InterchangeInfo, gs: GroupInfo, st02: str) -> str:
    """sha256("x12:sender:receiver:ISA13:GS06:ST02"): the same set sent twice collides."""
    ident = f"x12:{isa.sender_id}:{isa.receiver_id}:{isa.control_number}:{gs.control_number}"
    return hashlib.sha256(f"{ident}:{st02}".encode()).hexdigest()


@dataclass(frozen=True)
class TransactionSet:
    set_id: str
    control_number: str
    segments: list[Segment] = field(repr=False)
    """ST through SE, inclusive."""
    interchange: InterchangeInfo
    group: GroupInfo

    @property
    def position(self) -> Position:
        return self.segments[0].position

    @property
    def end_offset(self) -> int:
        """Offset of the first byte after the SE terminator."""
        return self.segments[-1].offset + len(self.segments[-1].raw)

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.interchange, self.group, self.control_number)

    @property
    def raw(self) -> bytes:
        """The set's original bytes, ST to SE terminator (whitespace between segments out)."""
        return b"".join(seg.raw for seg in self.segments)

    def standalone_bytes(self) -> bytes:
        """A one-set interchange (original ISA, GS and set, GE/IEA added) that parses alone
        to the same set, the same idempotency key and the same document."""
        term = self.interchange.delimiters.segment_bytes
        sep = self.interchange.delimiters.element.encode("utf-8")
        trailer = b"GE" + sep + b"1" + sep + self.group.control_number.encode() + term
        trailer += b"IEA" + sep + b"1" + sep + self.interchange.control_number.encode() + term
        return self.interchange.raw + self.group.raw + self.raw + trailer

    def position_dict(self) -> dict[str, int]:
        return {
            **self.position.as_dict(),
            "end_offset": self.end_offset,
            "segment_count": len(self.segments),
        }


@dataclass(frozen=True)
class Fault:
    """A broken envelope, transaction set or segment: what, where, and its original bytes."""

    error: X12Error
    scope: Scope
    raw: bytes = field(repr=False)
    raw_length: int
    interchange: InterchangeInfo | None = None
    group: GroupInfo | None = None
    set_id: str | None = None
    control_number: str | None = None

    @property
    def category(self) -> Category:
        return self.error.category

    @property
    def position(self) -> Position | None:
        return self.error.position

    def as_dict(self) -> dict[str, object]:
        isa, gs = self.interchange, self.group
        return self.error.as_dict() | {
            "scope": self.scope,
            "interchange": isa.control_number if isa else None,
            "group": gs.control_number if gs else None,
            "transaction_set": self.set_id,
            "control_number": self.control_number,
            "raw_length": self.raw_length,
        }
