"""The first sheet of an ``.xlsx`` workbook, streamed row by row with flat memory.

An ``.xlsx`` is a zip of XML parts. The sheet part is decompressed and parsed
incrementally (``zipfile`` + ``ElementTree.iterparse``) and every row is dropped once it
has been read, so memory does not grow with the sheet. The one part held whole is the
shared-string table (``xl/sharedStrings.xml``): a cell of type ``s`` is an index into it,
so it must be loaded before the first row; it grows with the workbook's *distinct* texts,
not with its rows. The styles part is read to know which number formats are dates.

Cell values are the ones python-calamine gives for the same cells (the reader used
before; the unit tests compare the two): numbers are floats; a number with a date or
time format is a ``date`` (whole day), ``datetime`` (a time on a day), ``time`` (below
1, a time of day) or ``timedelta`` (an elapsed-time format such as ``[h]:mm``), in
milliseconds, with the 1900 system's leap-year quirk and the 1904 system; booleans are
``bool``; an error cell (``#DIV/0!``) and an empty cell are ``""``; a string's text
is trimmed unless the part marks it ``xml:space="preserve"`` (a formula's text is not).
"""

from __future__ import annotations

import math
import posixpath
import zipfile
from array import array
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import IO, cast
from xml.etree.ElementTree import Element, ParseError, XMLPullParser, iterparse, parse

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
ROW, CELL, VALUE, INLINE = f"{MAIN}row", f"{MAIN}c", f"{MAIN}v", f"{MAIN}is"
TEXT, RUN, PHONETIC, SHARED = f"{MAIN}t", f"{MAIN}r", f"{MAIN}rPh", f"{MAIN}si"
DIMENSION, SHEET_DATA = f"{MAIN}dimension", f"{MAIN}sheetData"
DIGITS = "0123456789"
CHUNK = 1 << 16
XML_BLANKS = " \t\r\n"

Cell = int | float | str | bool | time | date | datetime | timedelta

OTHER, DATETIME, DURATION = 0, 1, 2
# Built-in number formats (ECMA-376 18.8.30 and the East Asian ids) that show a date or time.
BUILTIN_DATES = frozenset([*range(14, 23), *range(27, 37), 45, 47, *range(50, 59)])
BUILTIN_DURATIONS = frozenset([46])  # [h]:mm:ss
EPOCH = datetime(1899, 12, 30)
DAY_MS = 86_400_000
DATE_1904_OFFSET = 1462  # days between the 1900 and 1904 date systems


class XlsxFormatError(ValueError):
    """The workbook's parts are not a readable spreadsheet (the caller names the file)."""


def format_kind(code: str) -> int:
    """Whether a number format shows a date/time (``DATETIME``), an elapsed time
    (``DURATION``: ``[h]``, ``[mm]``, ``[ss]``) or a plain number. Only the first section
    (before ``;``) counts; quoted text, escaped characters (``\\x``, ``_x``) and bracketed
    parts (colours, locales) are not date letters."""
    i, n = 0, len(code)
    while i < n:
        ch = code[i]
        if ch in "\\_":
            i += 2
            continue
        if ch == '"':
            end = code.find('"', i + 1)
            i = n if end < 0 else end + 1
            continue
        if ch == ";":
            return OTHER
        if ch == "[":
            end = code.find("]", i + 1)
            inner = code[i + 1 : n if end < 0 else end].lower()
            if inner and inner[0] in "hms" and inner == inner[0] * len(inner):
                return DURATION
            i = n if end < 0 else end + 1
            continue
        low = ch.lower()
        if low in "dmyhs":
            return DATETIME
        if code[i : i + 5].upper() == "AM/PM" or code[i : i + 3].upper() == "A/P":
            return DATETIME  # a 12-hour clock
        i += 1
    return OTHER


def column_index(ref: str) -> int:
    """0-based column of a cell reference (``C7`` -> 2)."""
    index = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            index = index * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            index = index * 26 + ord(ch) - 96
        else:
            break
    return index - 1


def _milliseconds(days: float) -> int:
    """Days as whole milliseconds, halves away from zero (as calamine rounds, unlike
    Python's ``round``, which rounds halves to even)."""
    ms = abs(days) * DAY_MS
    return int(math.copysign(math.floor(ms + 0.5), days))


def serial_to_cell(value: float, kind: int, date1904: bool) -> Cell:
    """A date-formatted serial number as python-calamine returns it (a float when no
    Python date can hold it)."""
    try:
        if kind == DURATION:
            return timedelta(milliseconds=_milliseconds(value))
        days = value + DATE_1904_OFFSET if date1904 else value
        if days < 60:  # the 1900 system counts a 29 February 1900 that never was
            days += 1
        moment = EPOCH + timedelta(milliseconds=_milliseconds(days))
    except OverflowError:
        return value
    if value < 1:
        return moment.time()
    return moment.date() if moment.time() == time() else moment


def _text(element: Element) -> str:
    text = element.text or ""
    return text if element.get(XML_SPACE) == "preserve" else text.strip(XML_BLANKS)


def rich_text(element: Element) -> str:
    """The text of an ``<si>`` or ``<is>``: its ``<t>``, or its runs' ``<t>`` joined;
    phonetic guides (``<rPh>``) are not part of the text."""
    parts = []
    for child in element:
        if child.tag == TEXT:
            parts.append(_text(child))
        elif child.tag == RUN:
            parts.extend(_text(t) for t in child if t.tag == TEXT)
    return "".join(parts)


class SharedStrings:
    """The shared-string table, packed: the texts' UTF-8 bytes end to end and their end
    offsets (about 8 bytes a string plus its text, against some 60 for a list of ``str``):
    the one part held whole, it grows with the workbook's distinct texts."""

    def __init__(self) -> None:
        self._blob = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._blob += text.encode("utf-8")
        self._ends.append(len(self._blob))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self._ends):
            raise IndexError(f"shared string {index} of {len(self._ends)}")
        start = self._ends[index - 1] if index else 0
        return self._blob[start : self._ends[index]].decode("utf-8")


class SheetReader:
    """Rows of the first sheet of an open workbook: ``(sheet row number, cells)``, cells
    placed by their column from the sheet's first column (its dimension, else ``A``),
    missing cells ``""``, rows without any cell not yielded."""

    def __init__(self, book: zipfile.ZipFile) -> None:
        self._book = book
        names = set(book.namelist())
        self._types: dict[str, str] = {}  # part -> relationship type
        rels = self._relations("xl/_rels/workbook.xml.rels", "xl", names)
        workbook = self._parse("xl/workbook.xml")
        props = workbook.find(f"{MAIN}workbookPr")
        self.date1904 = props is not None and props.get("date1904", "") in ("1", "true")
        sheet = workbook.find(f"{MAIN}sheets/{MAIN}sheet")
        target = rels.get(sheet.get(f"{REL}id", "")) if sheet is not None else None
        self.sheet_part = target or "xl/worksheets/sheet1.xml"
        if self.sheet_part not in names:
            raise XlsxFormatError(f"it has no worksheet part {self.sheet_part}")
        by_type = {kind.rsplit("/", 1)[-1]: part for part, kind in self._types.items()}
        self.shared = self._shared_strings(by_type.get("sharedStrings", "xl/sharedStrings.xml"))
        self.kinds = self._styles(by_type.get("styles", "xl/styles.xml"))
        self.dimension, self.first_column = "", 0  # the sheet's <dimension>, when it has one
        self._columns: dict[str, int] = {}  # column letters -> index

    def _open(self, part: str) -> IO[bytes]:
        return self._book.open(part)

    def _parse(self, part: str) -> Element:
        """A small part (workbook, relations, styles), parsed whole."""
        with self._open(part) as f:
            return parse(f).getroot()

    def _relations(self, part: str, base: str, names: set[str]) -> dict[str, str]:
        if part not in names:
            return {}
        out = {}
        for rel in self._parse(part).iter(f"{PACKAGE_REL}Relationship"):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"{base}/{target}"
            path = posixpath.normpath(path)
            out[rel.get("Id", "")] = path
            self._types[path] = rel.get("Type", "")
        return out

    def _shared_strings(self, part: str) -> SharedStrings:
        strings = SharedStrings()
        if part not in self._book.namelist():
            return strings
        with self._open(part) as f:
            parent: Element | None = None
            for event, element in iterparse(f, events=("start", "end")):
                if event == "start":
                    if parent is None:
                        parent = element
                    continue
                if element.tag == SHARED:
                    strings.append(rich_text(element))
                    parent.remove(element)  # type: ignore[union-attr]
        return strings

    def _styles(self, part: str) -> list[int]:
        """Per cell style (``s``): the kind of its number format."""
        if part not in self._book.namelist():
            return []
        root = self._parse(part)
        codes = {
            int(f.get("numFmtId", "-1")): f.get("formatCode", "")
            for f in root.iter(f"{MAIN}numFmt")
        }
        kinds = []
        xfs = root.find(f"{MAIN}cellXfs")
        for xf in xfs if xfs is not None else []:
            fmt = int(xf.get("numFmtId", "0"))
            if fmt in codes:
                kinds.append(format_kind(codes[fmt]))
            else:
                kinds.append(
                    DATETIME if fmt in BUILTIN_DATES else DURATION if fmt in BUILTIN_DURATIONS
                    else OTHER
                )  # fmt: skip
        return kinds

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        number = 0
        parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
        data: Element | None = None  # <sheetData>: each row is removed from it once read
        with self._open(self.sheet_part) as f:
            while True:
                chunk = f.read(CHUNK)
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                for event, element in cast(Iterator[tuple[str, Element]], parser.read_events()):
                    if event == "start":
                        if data is None and element.tag == SHEET_DATA:
                            data = element
                        continue
                    tag = element.tag
                    if tag == ROW:
                        ref = element.get("r")
                        number = int(ref) if ref else number + 1
                        cells = self._cells(element, number)
                        if data is not None:
                            data.remove(element)
                        if cells:
                            yield number, cells
                    elif tag == DIMENSION:
                        self.dimension = element.get("ref", "")
                        self.first_column = max(column_index(self.dimension), 0)
                if not chunk:
                    return

    def _column(self, ref: str) -> int:
        letters = ref.rstrip(DIGITS)
        column = self._columns.get(letters)
        if column is None:
            column = self._columns[letters] = column_index(letters)
        return column

    def _cells(self, row: Element, number: int) -> list[Cell]:
        cells: list[Cell] = []
        first = self.first_column
        column = first - 1
        for c in row:
            if c.tag != CELL:
                continue
            ref = c.get("r")
            column = self._column(ref) if ref else column + 1
            value = self._value(c)
            if value is None:
                continue
            at = column - first
            if at < 0:
                raise XlsxFormatError(
                    f"cell {ref} of row {number} is left of the sheet's dimension {self.dimension}"
                )
            if at >= len(cells):
                cells.extend([""] * (at + 1 - len(cells)))
            cells[at] = value
        return cells

    def _value(self, c: Element) -> Cell | None:
        kind = c.get("t", "n")
        if kind == "inlineStr":
            inline = c.find(INLINE)
            return None if inline is None else rich_text(inline)
        v = c.find(VALUE)
        if v is None or v.text is None:
            return None
        text = v.text
        try:
            if kind == "s":
                return self.shared[int(text)]
            if kind == "n":
                number = float(text)
                style = int(c.get("s", "0"))
                fmt = self.kinds[style] if style < len(self.kinds) else OTHER
                return number if fmt == OTHER else serial_to_cell(number, fmt, self.date1904)
            if kind == "b":
                return text.strip() in ("1", "true")
            if kind == "e":
                return ""
            if kind == "d":
                moment = datetime.fromisoformat(text.strip())
                return moment.date() if moment.time() == time() else moment
        except (ValueError, IndexError) as exc:
            raise XlsxFormatError(f"cell {c.get('r', '?')}: bad value {text!r} ({exc})") from exc
        return text  # "str": a formula's text, as written


def open_sheet(book: zipfile.ZipFile) -> SheetReader:
    try:
        return SheetReader(book)
    except (ParseError, KeyError) as exc:
        raise XlsxFormatError(str(exc)) from exc
