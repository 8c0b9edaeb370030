"""Raw CSV records read as bytes, in constant memory, with their physical line numbers.

Ingest never interprets a record beyond what keying needs: each record is published exactly
as it appears in the file (minus its line terminator) so that the agents, not ingest, decide
whether it is valid and can dead-letter the original bytes.
"""

from __future__ import annotations

import csv
import hashlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

from streams.errors import ReconError

CHUNK_SIZE = 1 << 20
# A record spanning several physical lines is held in memory until its quotes balance; past
# this size (larger than Kafka's default max message anyway) an opening quote is taken to be
# stray, so one bad quote cannot swallow the rest of a multi-GB file.
MAX_RECORD_BYTES = 1 << 20


class IngestError(ReconError):
    """A file could not be ingested, or not every record of it reached Kafka."""


class RawRecord(NamedTuple):
    line: int
    """Physical line number where the record starts (the header is line 1)."""
    raw: bytes
    """The record's bytes exactly as in the file, without the final line terminator."""


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the whole file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _chomp(line: bytes) -> bytes:
    """Drop one trailing ``\\n`` or ``\\r\\n`` (a lone ``\\r`` is data)."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(b"\n"):
        return line[:-1]
    return line


def split_records(
    lines: Iterator[tuple[int, bytes]],
    replay: deque[tuple[int, bytes]],
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[RawRecord]:
    """Group numbered physical lines (terminators included) into CSV records.

    RFC 4180 quoting: lines are joined while the count of ``"`` seen in the record is odd,
    so quoted fields may contain newlines. Blank lines (only whitespace) outside a quoted
    field are not records: they are skipped, though they still count for line numbers.
    An unterminated quote at end of file yields what was gathered as one record. If a
    gathered record outgrows ``max_record_bytes``, its first line is yielded alone and the
    following lines are pushed onto ``replay`` (which ``lines`` must drain before reading
    on) to be scanned again as fresh records: nothing is ever dropped.
    """
    pending: list[tuple[int, bytes]] = []
    size = 0
    for number, line in lines:
        odd = line.count(b'"') & 1
        if not pending:
            if odd:
                pending.append((number, line))
                size = len(line)
            elif line.strip():
                yield RawRecord(number, _chomp(line))
            continue
        pending.append((number, line))
        size += len(line)
        if odd:
            yield RawRecord(pending[0][0], _chomp(b"".join(part for _, part in pending)))
            pending = []
        elif size > max_record_bytes:
            first_number, first_line = pending[0]
            yield RawRecord(first_number, _chomp(first_line))
            replay.extendleft(reversed(pending[1:]))
            pending = []
    if pending:
        yield RawRecord(pending[0][0], _chomp(b"".join(part for _, part in pending)))


def parse_header(raw: bytes) -> tuple[str, list[str]]:
    """The header row as text (BOM removed) and its column names (whitespace-trimmed)."""
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        row = next(csv.reader([text]), [])
    except csv.Error:
        row = text.split(",")
    return text, [name.strip() for name in row]


def field_at(raw: bytes, index: int) -> str | None:
    """Field ``index`` of one raw CSV record, trimmed; None if unreadable, absent or empty."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if '"' in text or "\r" in text or "\n" in text:
        try:
            rows = list(csv.reader([text], strict=True))
        except csv.Error:
            return None
        if len(rows) != 1:
            return None
        fields = rows[0]
    else:  # the common case: str.split is many times faster than csv.reader
        fields = text.split(",")
    if index >= len(fields):
        return None
    value = fields[index].strip()
    return value or None


def extract_field(columns: list[str], raw: bytes, name: str) -> str | None:
    """Field ``name`` of one raw CSV record, located through the header's ``columns``.

    None if the column is not in the header, the record is not UTF-8 or not parseable
    CSV, it has too few fields, or the value is empty/whitespace.
    """
    try:
        index = columns.index(name)
    except ValueError:
        return None
    return field_at(raw, index)


class CsvRecords:
    """An open CSV file: its header row, then its data records as :class:`RawRecord`.

    Use as a context manager; iterate once. ``bytes_read`` counts every byte consumed so
    far (header, blank lines and terminators included).
    """

    def __init__(self, path: Path, max_record_bytes: int = MAX_RECORD_BYTES) -> None:
        self.path = path
        self.bytes_read = 0
        self._replay: deque[tuple[int, bytes]] = deque()
        self._file: BinaryIO = path.open("rb")
        try:
            self._records = split_records(self._lines(), self._replay, max_record_bytes)
            first = next(self._records, None)
            if first is None:
                raise IngestError(f"{path} is empty: a CSV header row is required")
            self.header_line = first.line
            self.header, self.columns = parse_header(first.raw)
        except BaseException:
            self._file.close()
            raise

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        for number, line in enumerate(self._file, start=1):
            self.bytes_read += len(line)
            yield number, line
            while self._replay:  # lines handed back by split_records come before the next
                yield self._replay.popleft()

    def __iter__(self) -> Iterator[RawRecord]:
        return self._records

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvRecords:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_csv_records(path: Path) -> tuple[str, Iterator[RawRecord]]:
    """The header text and an iterator of data records; the file closes when it is exhausted."""
    source = CsvRecords(path)

    def records() -> Iterator[RawRecord]:
        with source:
            yield from source

    return source.header, records()
