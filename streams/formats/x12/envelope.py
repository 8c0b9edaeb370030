"""X12 envelopes: ISA/IEA, GS/GE, ST/SE nesting and control checks, one set at a time.

:class:`X12Reader` turns the token stream into :class:`TransactionSet` objects (ST through
SE, with the interchange and group they belong to and their position in the file) and
:class:`Fault` objects for everything that cannot be one. Only the set being read is held
in memory, so memory does not grow with the file.

- A malformed ISA/GS header (or an ST without ST02) breaks that envelope: one fault for it,
  its content is skipped (its bytes, up to :data:`MAX_FAULT_RAW`, travel with the fault).
- A trailer that disagrees (IEA01/IEA02, GE01/GE02) is a fault on that envelope: its sets
  were already yielded (they are whole and individually checked) and reading continues.
  So is a group without any set (at its GE01). An interchange without groups is not: it
  may carry only a TA1.
- A set whose SE disagrees (SE01 count, SE02 control number), that contains garbage, or
  that is cut short by another ST, a GE/IEA/ISA or the end of the file is a fault carrying
  the set's original bytes; the next set is read normally.

Categories: unreadable bytes or ISA → ``parse_error``; control numbers, counts and missing
or misplaced envelope segments → ``schema_violation``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from streams.errors import Category
from streams.formats.x12.sets import Fault, GroupInfo, InterchangeInfo, Scope, TransactionSet
from streams.formats.x12.tokenizer import CHUNK_SIZE, Garbage, Segment, Tokenizer, X12Error

MAX_SET_BYTES = 64 << 20
"""A transaction set larger than this is a fault (its SE is probably missing)."""
MAX_FAULT_RAW = 8 << 20
"""Original bytes kept with a fault for a skipped envelope; more are counted, not kept."""

_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
PARSE, SCHEMA = Category.PARSE_ERROR, Category.SCHEMA_VIOLATION


def _same_number(a: str, b: str) -> bool:
    """Numeric control numbers compare as numbers (``000414`` = ``414``)."""
    return int(a) == int(b) if a.isdigit() and b.isdigit() else a == b


class _Skipped:
    """A broken envelope being skipped: its header's error and its bytes, up to a cap."""

    def __init__(self, header: Segment, error: X12Error, cap: int = MAX_FAULT_RAW) -> None:
        self.error = error
        self.parts: list[bytes] = []
        self.kept = self.length = 0
        self.cap = cap
        self.add(header.raw)

    def add(self, raw: bytes) -> None:
        self.length += len(raw)
        if self.kept < self.cap:
            self.parts.append(raw[: self.cap - self.kept])
            self.kept += len(self.parts[-1])

    def raw(self) -> bytes:
        return b"".join(self.parts)


class X12Reader:
    """Transaction sets and faults of one X12 file, in file order; iterate once."""

    def __init__(
        self, source: BinaryIO, *, chunk_size: int = CHUNK_SIZE, max_set_bytes: int = MAX_SET_BYTES
    ) -> None:
        self.tokenizer = Tokenizer(source, chunk_size)
        self.max_set_bytes = max_set_bytes
        self.interchanges = self.groups = self.transaction_sets = self.faults = 0
        self._isa: InterchangeInfo | None = None
        self._isa_skip: _Skipped | None = None  # a broken interchange being skipped
        self._group_count = 0
        self._gs: GroupInfo | None = None
        self._gs_skip: _Skipped | None = None
        self._set_count = 0
        self._st: list[Segment] | None = None
        self._st_bytes = 0
        self._st_error: X12Error | None = None
        self._st_overflow = False  # the open set outgrew max_set_bytes: skip to its end
        self._handlers: dict[str, Callable[[Segment], Iterator[TransactionSet | Fault]]] = {
            sid: getattr(self, f"_on_{sid.lower()}") for sid in _ENVELOPE
        }

    @property
    def bytes_read(self) -> int:
        return self.tokenizer.bytes_read

    @property
    def segments(self) -> int:
        return self.tokenizer.segments

    def __iter__(self) -> Iterator[TransactionSet | Fault]:
        for token in self.tokenizer:
            if isinstance(token, Garbage):
                yield from self._garbage(token)
                continue
            sid = token.id
            if sid not in _ENVELOPE:
                if self._st is not None:
                    self._st.append(token)
                    self._st_bytes += len(token.raw)
                    if self._st_bytes > self.max_set_bytes:
                        yield self._set_fault(f"the set exceeds {self.max_set_bytes} bytes")
                        self._st_overflow = True
                elif not self._st_overflow and not self._absorbed(token.raw):
                    yield self._fault(SCHEMA, "segment", token, f"{sid} is outside a set")
                continue
            if sid != "SE":
                self._st_overflow = False
            yield from self._handlers[sid](token)
        yield from self._close_interchange(None, "the file ends")

    # -- faults -------------------------------------------------------------------------

    def _error(
        self, category: Category, seg: Segment | Garbage, message: str, element: int = 0
    ) -> X12Error:
        if isinstance(seg, Garbage):
            return X12Error(category, message, position=seg.position, value=seg.raw[:40])
        name = f"{seg.id}{element:02d}" if element else None
        value = (seg.get(element) or None) if element else None
        return X12Error(
            category, message, segment_id=seg.id, element=name, value=value, position=seg.position
        )

    def _fault(
        self,
        category: Category,
        scope: Scope,
        seg: Segment | Garbage,
        message: str,
        element: int = 0,
    ) -> Fault:
        self.faults += 1
        length = seg.length if isinstance(seg, Garbage) else len(seg.raw)
        gs = self._gs if scope != "interchange" else None
        error = self._error(category, seg, message, element)
        return Fault(error, scope, seg.raw, length, self._isa, gs)

    def _set_fault(self, message: str, error: X12Error | None = None) -> Fault:
        """Close the open set as a fault (``error`` if it was already broken)."""
        assert self._st is not None
        segs, first = self._st, self._st[0]
        raw = b"".join(s.raw for s in segs)
        err = error or self._st_error or self._error(SCHEMA, first, message)
        self.faults += 1
        self._st, self._st_bytes, self._st_error = None, 0, None
        ids = first.get(1) or None, first.get(2) or None
        return Fault(err, "transaction_set", raw, len(raw), self._isa, self._gs, *ids)

    def _close_set(self, why: str) -> Iterator[Fault]:
        if self._st is not None:
            st02 = self._st[0].get(2)
            yield self._set_fault(f"transaction set {st02} has no SE: {why}")

    def _close_group(self, seg: Segment | None, why: str) -> Iterator[Fault]:
        yield from self._close_set(why)
        if self._gs_skip is not None:
            skip, self._gs_skip = self._gs_skip, None
            if seg is not None and seg.id == "GE":
                skip.add(seg.raw)
            yield self._skip_fault(skip, "group")
        elif self._gs is not None:
            yield self._unclosed("group", "GS06", self._gs, f"has no GE: {why}")
        self._gs = None

    def _close_interchange(self, seg: Segment | None, why: str) -> Iterator[Fault]:
        yield from self._close_group(None, why)
        if self._isa_skip is not None:
            skip, self._isa_skip = self._isa_skip, None
            if seg is not None and seg.id == "IEA":
                skip.add(seg.raw)
            yield self._skip_fault(skip, "interchange")
        elif self._isa is not None:
            yield self._unclosed("interchange", "ISA13", self._isa, f"has no IEA: {why}")
        self._isa = None

    def _unclosed(
        self, scope: Scope, element: str, header: InterchangeInfo | GroupInfo, message: str
    ) -> Fault:
        """An envelope whose trailer never came: a fault at its header."""
        self.faults += 1
        number = header.control_number
        error = X12Error(
            SCHEMA,
            f"{scope} {number} {message}",
            segment_id=element[:-2],
            element=element,
            value=number,
            position=header.position,
        )
        gs = self._gs if scope == "group" else None
        return Fault(error, scope, header.raw, len(header.raw), self._isa, gs)

    def _skip_fault(self, skip: _Skipped, scope: Scope) -> Fault:
        """The fault of a broken envelope, raised at its header, emitted at its end."""
        self.faults += 1
        return Fault(skip.error, scope, skip.raw(), skip.length, self._isa, self._gs)

    def _absorbed(self, raw: bytes) -> bool:
        """True (and the bytes kept) if a broken envelope is being skipped."""
        skip = self._isa_skip or self._gs_skip
        if skip is not None:
            skip.add(raw)
        return skip is not None

    def _garbage(self, token: Garbage) -> Iterator[Fault]:
        if token.interchange:
            yield from self._close_interchange(None, "unreadable bytes follow")
            yield self._fault(PARSE, "interchange", token, token.reason)
        elif self._st is not None:
            if self._st_error is None:
                self._st_error = self._error(PARSE, token, f"garbage in the set: {token.reason}")
            self._st.append(Segment("", [""], token.offset, token.segment_index, token.raw))
        elif not self._absorbed(token.raw):
            yield self._fault(PARSE, "segment", token, token.reason)

    def _check_trailer(
        self, seg: Segment, scope: Scope, control: str, header: str, count: int, what: str
    ) -> Iterator[Fault]:
        """IEA/GE: element 2 repeats the header's control number, element 1 counts."""
        name = seg.id
        if not _same_number(seg.get(2), control):
            msg = f"{name}02 {seg.get(2)!r} does not match {header} {control!r}"
            yield self._fault(SCHEMA, scope, seg, msg, 2)
        elif not _same_number(seg.get(1), str(count)):
            msg = f"{name}01 says {seg.get(1)!r} {what}, {scope} {control} has {count}"
            yield self._fault(SCHEMA, scope, seg, msg, 1)

    # -- envelope segments ---------------------------------------------------------------

    def _on_isa(self, seg: Segment) -> Iterator[Fault]:
        yield from self._close_interchange(None, f"a new ISA starts ({seg.position})")
        self.interchanges += 1
        delims = self.tokenizer.delimiters
        assert delims is not None
        e = [seg.get(n) for n in range(17)]
        bad = next((n for n in (6, 8, 12) if not e[n]), 0)
        if not bad and not (e[13].isdigit() and len(e[13]) <= 9):
            bad = 13
        if bad:
            what = f"ISA{bad:02d} is {'not a control number' if bad == 13 else 'empty'}"
            self._isa_skip = _Skipped(seg, self._error(PARSE, seg, f"malformed ISA: {what}", bad))
            return
        self._isa = InterchangeInfo(
            e[5], e[6], e[7], e[8], e[9], e[10], e[12], e[13], e[15], delims, seg.position, seg.raw
        )
        self._group_count = 0

    def _on_iea(self, seg: Segment) -> Iterator[Fault]:
        if self._isa is None and self._isa_skip is None:
            yield self._fault(SCHEMA, "interchange", seg, "IEA without an ISA")
            return
        yield from self._close_group(None, f"the interchange ends ({seg.position})")
        if self._isa is not None:
            counts = (self._isa.control_number, "ISA13", self._group_count, "groups")
            yield from self._check_trailer(seg, "interchange", *counts)
            self._isa = None
        yield from self._close_interchange(seg, "")

    def _on_gs(self, seg: Segment) -> Iterator[Fault]:
        if self._isa_skip is not None:
            return self._isa_skip.add(seg.raw)
        yield from self._close_group(None, f"a new GS starts ({seg.position})")
        self.groups += 1
        self._group_count += 1
        self._set_count = 0
        bad = next((n for n in (1, 6, 8) if not seg.get(n)), 0)
        if bad:
            message = f"GS{bad:02d} is missing"
        elif not seg.get(6).isdigit():
            bad, message = 6, f"GS06 {seg.get(6)!r} is not a control number"
        elif self._isa is None:
            message = "GS outside an interchange (no ISA before it)"
        if bad or self._isa is None:
            self._gs_skip = _Skipped(seg, self._error(SCHEMA, seg, message, bad))
            return
        e = [seg.get(n) for n in range(9)]
        self._gs = GroupInfo(e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], seg.position, seg.raw)

    def _on_ge(self, seg: Segment) -> Iterator[Fault]:
        if self._isa_skip is not None:
            return self._isa_skip.add(seg.raw)
        if self._gs is None and self._gs_skip is None:
            yield self._fault(SCHEMA, "group", seg, "GE without a GS")
            return
        yield from self._close_set(f"the group ends ({seg.position})")
        if self._gs is not None:
            counts = (self._gs.control_number, "GS06", self._set_count, "sets")
            trailer = list(self._check_trailer(seg, "group", *counts))
            if not trailer and self._set_count == 0:
                # a group holds at least one set: an empty one is a fault, not nothing at
                # all (it is dead-lettered, and its partner's 997 rejects it)
                message = f"group {self._gs.control_number} has no transaction sets"
                trailer.append(self._fault(SCHEMA, "group", seg, message, 1))
            yield from trailer
            self._gs = None
        yield from self._close_group(seg, "")

    def _on_st(self, seg: Segment) -> Iterator[Fault]:
        if self._absorbed(seg.raw):
            return
        yield from self._close_set(f"a new ST starts ({seg.position})")
        self._set_count += 1
        self._st, self._st_bytes = [seg], len(seg.raw)
        bad = next((n for n in (1, 2) if not seg.get(n)), 0)
        if bad:
            self._st_error = self._error(SCHEMA, seg, f"ST{bad:02d} is missing", bad)
        elif self._gs is None:
            self._st_error = self._error(SCHEMA, seg, "ST outside a functional group")

    def _on_se(self, seg: Segment) -> Iterator[TransactionSet | Fault]:
        if self._st_overflow:
            self._st_overflow = False
            return
        if self._absorbed(seg.raw):
            return
        if self._st is None:
            yield self._fault(SCHEMA, "segment", seg, "SE without an ST")
            return
        segs = self._st
        segs.append(seg)
        st02 = segs[0].get(2)
        if self._st_error is not None:
            yield self._set_fault("")
        elif seg.get(2) != st02:
            msg = f"SE02 {seg.get(2)!r} does not match ST02 {st02!r}"
            yield self._set_fault("", self._error(SCHEMA, seg, msg, 2))
        elif not _same_number(seg.get(1), str(len(segs))):
            msg = f"SE01 says {seg.get(1)!r} segments, set {st02} has {len(segs)}"
            yield self._set_fault("", self._error(SCHEMA, seg, msg, 1))
        else:
            assert self._isa is not None and self._gs is not None
            self.transaction_sets += 1
            self._st, self._st_bytes = None, 0
            yield TransactionSet(segs[0].get(1), st02, segs, self._isa, self._gs)


def read_transaction_sets(path: Path) -> Iterator[TransactionSet | Fault]:
    """Every transaction set and fault of the X12 file at ``path``; the file closes at the end."""
    with path.open("rb") as f:
        yield from X12Reader(f)
