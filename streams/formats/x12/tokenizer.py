"""Streaming X12 tokenizer: delimiters from each ISA, then one segment at a time.

The file is read in chunks (constant memory whatever its size). Delimiters are taken from
every ISA by walking its 16 elements, so ISAs that are not padded to 106 characters work.
Segment terminators may be any single character the ISA declares (``~``, ``'``, ``|``, a
control character, a multi-byte UTF-8 character such as ``§``) or a line break (newline
alone, CR/LF or CR). Line breaks are never data: when the terminator is not a line break
they are dropped wherever they are (``~`` + CR/LF, files hard-wrapped at 80 columns, even
inside an element), and whitespace before a segment id (indentation) is ignored.

Elements are never split into repetitions or components here: the repetition separator
(ISA11, from version 00402 on) and the component separator (ISA16) may collide with data
(``-`` in part numbers), so they are only honoured for the elements X12 defines as
repeating (:data:`REPEATABLE_ELEMENTS`, :func:`repetitions`).

Each segment keeps its byte offset and 1-based segment index in the file and its original
bytes (terminator included) so that a broken one can be dead-lettered untouched. Bytes that
are not a segment (a bad id, an unreadable ISA, stray text between interchanges) come out
as :class:`Garbage` tokens and the tokenizer resynchronises on the next segment or ISA.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from streams.errors import Category, RecordError, Stage

CHUNK_SIZE = 1 << 20
MAX_SEGMENT_BYTES = 1 << 20
"""No terminator within this many bytes: the bytes are garbage (wrong terminator?)."""
MAX_GARBAGE_RAW = 1 << 16
"""Original bytes kept for a garbage token; longer runs keep their length only."""
ISA_MAX_BYTES = 512
"""An ISA is 106 bytes when padded; its 16 separators must come within this many bytes."""

_SKIP = b" \t\r\n\x0b\x0c\x00\x1a"  # between interchanges: whitespace, NUL, Ctrl-Z
_BOM = b"\xef\xbb\xbf"
_NEWLINES = b"\r\n"
_NOT_SKIP = re.compile(rb"[^ \t\r\n\x0b\x0c\x00\x1a]")
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_ISA_START = re.compile(rb"ISA(?=[^A-Za-z0-9\s])")

REPEATABLE_ELEMENTS = frozenset({("EB", 3), ("DMG", 5), ("HCP", 15), ("IK4", 4)})
"""(segment id, element position) of the X12 data elements whose max use is above 1.
None of them occurs in the 850/860/856/810/210 segments we extract."""


class Position(NamedTuple):
    byte_offset: int
    """0-based offset in the file of the segment's first byte (its id)."""
    segment_index: int
    """1-based index of the segment (or garbage run) in the file."""

    def as_dict(self) -> dict[str, int]:
        return {"byte_offset": self.byte_offset, "segment_index": self.segment_index}

    def __str__(self) -> str:
        return f"segment {self.segment_index} at byte {self.byte_offset}"


class X12Error(RecordError):
    """A record error located in an X12 file: segment id, element, value and position."""

    def __init__(
        self,
        category: Category,
        message: str,
        *,
        segment_id: str | None = None,
        element: str | None = None,
        value: object = None,
        position: Position | None = None,
    ) -> None:
        stage = Stage.PARSE if category is Category.PARSE_ERROR else Stage.VALIDATE
        where = f" ({position})" if position is not None else ""
        super().__init__(category, stage, f"{message}{where}", field=element, value=value)
        self.segment_id = segment_id
        self.element = element
        self.position = position

    def as_dict(self) -> dict[str, object]:
        return {
            "category": str(self.category),
            "stage": str(self.stage),
            "message": self.message,
            "segment_id": self.segment_id,
            "element": self.element,
            "value": None if self.value is None else str(self.value),
            "position": None if self.position is None else self.position.as_dict(),
        }


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    repetition: str | None
    """ISA11 when the interchange version (ISA12) is 00402 or later, else None."""
    segment: str
    """The terminator as declared: ``~``, ``\\n``, ``\\r\\n``, ``§``..."""
    segment_bytes: bytes
    """What separates segments in the bytes (``\\n`` for CR/LF files: CRs are stripped)."""

    @property
    def line_terminated(self) -> bool:
        return self.segment_bytes in (b"\n", b"\r")

    def as_dict(self) -> dict[str, str | None]:
        return {
            "element": self.element,
            "component": self.component,
            "repetition": self.repetition,
            "segment": self.segment,
        }


class Segment(NamedTuple):
    id: str
    elements: list[str]
    """``elements[0]`` is the id, ``elements[n]`` element n (untrimmed, as in the file)."""
    offset: int
    segment_index: int
    raw: bytes
    """Original bytes from the id through the terminator (line breaks inside kept)."""

    def get(self, n: int) -> str:
        """Element ``n`` (1-based) without surrounding spaces; ``""`` when absent."""
        return self.elements[n].strip() if n < len(self.elements) else ""

    @property
    def position(self) -> Position:
        return Position(self.offset, self.segment_index)


class Garbage(NamedTuple):
    offset: int
    segment_index: int
    raw: bytes
    """The first :data:`MAX_GARBAGE_RAW` bytes of the run."""
    length: int
    reason: str
    interchange: bool
    """True for an unreadable ISA or bytes where an ISA was expected."""

    @property
    def position(self) -> Position:
        return Position(self.offset, self.segment_index)


def repetitions(segment: Segment, n: int, delimiters: Delimiters) -> list[str]:
    """Element ``n`` split on the repetition separator, only where X12 allows repetition."""
    value = segment.get(n)
    if delimiters.repetition and (segment.id, n) in REPEATABLE_ELEMENTS:
        return value.split(delimiters.repetition)
    return [value]


def _char(data: bytes, i: int) -> bytes | None:
    """The character starting at ``data[i]``: one byte, or a whole UTF-8 sequence."""
    if i >= len(data):
        return None
    lead = data[i]
    size = 2 if 0xC0 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4 if lead >= 0xF0 else 1
    if size > 1:
        seq = data[i : i + size]
        if len(seq) == size and all(0x80 <= b < 0xC0 for b in seq[1:]):
            return seq
    return data[i : i + 1]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _bad_delimiter(char: bytes) -> bool:
    return len(char) == 1 and (char.isalnum() or char in b" \t\r\n")


def read_isa(data: bytes, start: int) -> tuple[Delimiters, list[str], int] | str:
    """Delimiters, elements and end offset of the ISA at ``data[start:]``, or why not.

    Walks the 16 elements (line breaks ignored: hard-wrapped files break inside the ISA),
    takes ISA16 as the component separator and the next character as the terminator.
    """
    if data[start : start + 3] != b"ISA":
        return "expected an ISA segment"
    sep = _char(data, start + 3)
    if sep is None or _bad_delimiter(sep):
        return f"no element separator after 'ISA' (found {sep!r})"
    text = bytearray(b"ISA" + sep)
    i, count, limit = start + 3 + len(sep), 1, min(len(data), start + ISA_MAX_BYTES)
    while count < 16:
        if i >= limit:
            return f"ISA has {count} of its 16 element separators {_decode(sep)!r}"
        if data[i] in _NEWLINES:
            i += 1
        elif data.startswith(sep, i):
            text += sep
            count += 1
            i += len(sep)
        else:
            text.append(data[i])
            i += 1
    elements = _decode(bytes(text)).split(_decode(sep))
    for n, size in ((9, 6), (10, 4), (13, 0)):  # fixed-format elements: a short ISA shows here
        value = elements[n].strip()
        if not value.isdigit() or (size and len(value) != size) or len(value) > 9:
            return f"ISA{n:02d} {value[:20]!r} is not {size or 'up to 9'} digits (a short ISA?)"
    component = _char(data, i)
    if component is None or _bad_delimiter(component) or component == sep:
        return f"ISA16 (component separator) is unreadable: {component!r}"
    i += len(component)
    term = _char(data, i)
    if term is None:
        return "the file ends inside the ISA: no segment terminator after ISA16"
    if term == b"\r" and data[i + 1 : i + 2] == b"\n":
        declared, search, end = "\r\n", b"\n", i + 2
    elif term in (b"\n", b"\r"):
        declared, search, end = _decode(term), term, i + 1
    elif _bad_delimiter(term) or term in (sep, component):
        return f"the segment terminator after ISA16 is unreadable: {term!r}"
    else:
        declared, search, end = _decode(term), term, i + len(term)
    elements[16] = _decode(component)  # the text ends with the 16th separator
    rep = elements[11].strip()
    version = elements[12].strip()
    repetition = None
    others = (_decode(sep), _decode(component), declared)
    if version >= "00402" and len(rep) == 1 and not rep.isalnum() and rep not in others:
        repetition = rep
    delims = Delimiters(_decode(sep), _decode(component), repetition, declared, search)
    return delims, elements, end


class Tokenizer:
    """Segments and garbage runs of one binary stream; iterate once.

    ``delimiters`` are those of the interchange being read (None between interchanges);
    ``bytes_read`` and ``segments`` count progress.
    """

    def __init__(self, stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> None:
        self._stream = stream
        self._chunk = chunk_size
        self._buf = b""
        self._base = 0  # file offset of _buf[0]
        self._eof = False
        self.delimiters: Delimiters | None = None
        self.bytes_read = 0
        self.segments = 0

    def _refill(self, pos: int) -> int:
        """Drop the consumed ``_buf[:pos]``, append a chunk; return the new ``pos`` (0)."""
        chunk = self._stream.read(self._chunk)
        if not chunk:
            self._eof = True
        self.bytes_read += len(chunk)
        self._buf = self._buf[pos:] + chunk
        self._base += pos
        return 0

    def __iter__(self) -> Iterator[Segment | Garbage]:
        pos = 0
        while True:
            if self.delimiters is None:
                pos = yield from self._interchange_start(pos)
                if self.delimiters is None:
                    return
            pos = yield from self._segments(pos)

    def _garbage(self, start: int, end: int, reason: str, interchange: bool) -> Garbage:
        self.segments += 1
        raw = self._buf[start : min(end, start + MAX_GARBAGE_RAW)]
        return Garbage(self._base + start, self.segments, raw, end - start, reason, interchange)

    def _interchange_start(self, pos: int) -> Generator[Segment | Garbage, None, int]:
        """Skip to the next ISA and read its delimiters; return the position after it."""
        while True:
            while len(self._buf) - pos < ISA_MAX_BYTES and not self._eof:
                pos = self._refill(pos)
            buf = self._buf
            if self._base == 0 and pos == 0 and buf.startswith(_BOM):
                pos = 3
            first = _NOT_SKIP.search(buf, pos)
            if first is None:
                if self._eof:
                    return len(buf)
                pos = len(buf)
                continue
            start = first.start()
            found = read_isa(buf, start)
            if isinstance(found, tuple):
                delims, elements, end = found
                self.segments += 1
                self.delimiters = delims  # set before the ISA is seen: the reader needs them
                yield Segment("ISA", elements, self._base + start, self.segments, buf[start:end])
                return end
            if buf.startswith(b"ISA", start):
                reason = f"malformed ISA: {found}"
            else:
                reason = f"expected an ISA segment, found {_decode(buf[start : start + 20])!r}"
            pos = yield from self._skip_to_isa(start, reason)

    def _skip_to_isa(self, start: int, reason: str) -> Generator[Garbage, None, int]:
        """Yield the bytes from ``start`` to the next readable ISA as one garbage run."""
        kept, length, first_offset = b"", 0, self._base + start
        self.segments += 1
        index, search = self.segments, start + 1
        while True:
            buf, eof = self._buf, self._eof
            match = _ISA_START.search(buf, search)
            # a candidate is an ISA only if its delimiters read (once enough bytes are here)
            while match and (eof or len(buf) - match.start() >= ISA_MAX_BYTES):
                if isinstance(read_isa(buf, match.start()), tuple):
                    break
                match = _ISA_START.search(buf, match.start() + 1)
            if match:
                end = match.start()
                done = eof or len(buf) - end >= ISA_MAX_BYTES
            else:  # keep a tail: an ISA may straddle the chunks
                end, done = (len(buf), True) if eof else (max(len(buf) - 4, start), False)
            if len(kept) < MAX_GARBAGE_RAW:
                kept += buf[start:end][: MAX_GARBAGE_RAW - len(kept)]
            length += end - start
            if done:
                yield Garbage(first_offset, index, kept, length, reason, True)
                return end
            start = self._refill(end)
            search = 0

    def _segments(self, pos: int) -> Generator[Segment | Garbage, None, int]:
        """Segments of the current interchange, through its IEA (or up to a new ISA)."""
        delims = self.delimiters
        assert delims is not None
        term, sep = delims.segment_bytes, delims.element
        tlen, lines = len(term), delims.line_terminated
        valid: set[str] = {"ISA", "IEA", "GS", "GE", "ST", "SE"}
        buf, base = self._buf, self._base
        while True:
            end = buf.find(term, pos)
            if end < 0:
                if not self._eof:
                    if len(buf) - pos > MAX_SEGMENT_BYTES:
                        cut = pos + MAX_SEGMENT_BYTES
                        yield self._garbage(
                            pos, cut, f"no segment terminator {delims.segment!r}", False
                        )
                        pos = cut
                    pos = self._refill(pos)
                    buf, base = self._buf, self._base
                    continue
                end = len(buf)  # the last segment may lack its terminator
                if not buf[pos:].strip(_SKIP):
                    self.delimiters = None
                    return end
            next_pos = end + tlen  # past the end only for a last segment without terminator
            body = buf[pos:end]
            text = body.lstrip()
            if not text:
                pos = next_pos
                continue
            start = end - len(text)
            if lines:
                text = text.rstrip(b"\r")
            elif b"\n" in text or b"\r" in text:
                text = text.translate(None, _NEWLINES)
            try:
                decoded = text.decode("utf-8")
            except UnicodeDecodeError:
                decoded = text.decode("latin-1")
            elements = decoded.split(sep)
            sid = elements[0]
            if sid not in valid:
                if not _SEGMENT_ID.fullmatch(sid):
                    # at the end of the file next_pos counts a terminator that is not there
                    stop = min(next_pos, len(buf))
                    yield self._garbage(start, stop, f"not a segment id: {sid[:20]!r}", False)
                    pos = next_pos
                    continue
                valid.add(sid)
            if sid == "ISA":  # a new interchange without IEA: re-read its delimiters
                self.delimiters = None
                return start
            self.segments += 1
            yield Segment(sid, elements, base + start, self.segments, buf[start:next_pos])
            pos = next_pos
            if sid == "IEA":
                self.delimiters = None
                return pos


def tokenize(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Segment | Garbage]:
    """Segments and garbage runs of a binary stream, in file order."""
    return iter(Tokenizer(stream, chunk_size))
