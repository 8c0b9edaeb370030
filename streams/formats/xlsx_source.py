"""Rows of an Excel workbook (``.xlsx``) read as CSV records, so that one worker path
validates both kinds of manifest (docs/inventory.md, "Excel manifests").

The first sheet is streamed row by row (xlsx_stream.py: flat memory whatever the number
of rows, the shared-string table aside); each row is written as one CSV
record of its cells' text: that record is what the raw topic, the DLQ and the chunk hashes
carry. A cell's text is what a person sees in it: whole numbers without ``.0``, dates as
``YYYY-MM-DD``, a date-time at midnight as its date, empty cells as empty fields. Row
numbers are the sheet's (the header is row 1), so an error names the row a person opens.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from types import TracebackType
from xml.etree.ElementTree import ParseError

from streams.formats.csv_source import IngestError, RawRecord
from streams.formats.xlsx_stream import Cell, XlsxFormatError, open_sheet


def cell_text(value: Cell) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def csv_line(cells: list[Cell]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([cell_text(c) for c in cells])
    return out.getvalue().encode("utf-8")


class XlsxRecords:
    """An open workbook: its header row, then its data rows as :class:`RawRecord` (CSV
    bytes). Like ``CsvRecords``: a context manager, iterated once; blank rows are skipped
    (they still count for row numbers); trailing empty cells are dropped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bytes_read = 0
        try:
            self._book = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:  # a file that is not a zip at all
            raise IngestError(f"{path.name} is not a readable .xlsx workbook: {exc}") from exc
        try:
            self._rows = open_sheet(self._book).rows()
        except XlsxFormatError as exc:
            self.close()
            raise IngestError(f"{path.name} is not a readable .xlsx workbook: {exc}") from exc
        try:
            header = next(self._nonblank(), None)
        except IngestError:
            self.close()
            raise
        if header is None:
            self.close()
            raise IngestError(f"{path.name} has no rows: a header row is required")
        self.header_line, raw = header
        self.header = raw.decode("utf-8")
        self.columns = [name.strip() for name in next(csv.reader([self.header]))]

    def _nonblank(self) -> Iterator[tuple[int, bytes]]:
        try:
            for number, cells in self._rows:
                line = self._line(cells)
                if line is not None:
                    yield number, line
        except (XlsxFormatError, ParseError, zipfile.BadZipFile, EOFError) as exc:
            raise IngestError(f"{self.path.name} is not a readable .xlsx workbook: {exc}") from exc

    @staticmethod
    def _line(cells: list[Cell]) -> bytes | None:
        """The CSV record of a row; None for a blank row."""
        while cells and cells[-1] == "":
            cells.pop()
        if not cells or all(isinstance(c, str) and not c.strip() for c in cells):
            return None
        return csv_line(cells)

    def __iter__(self) -> Iterator[RawRecord]:
        for number, raw in self._nonblank():
            yield RawRecord(number, raw)
        self.bytes_read = self.path.stat().st_size

    def close(self) -> None:
        self._book.close()  # closing twice is harmless

    def __enter__(self) -> XlsxRecords:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
