"""Chunked raw records: many records of one file and one partition in one Kafka message.

``recon ingest`` publishes a POS feed in chunks (docs/design.md, "Chunked raw records"):
the value is the records' bytes back to back, exactly as in the file; the headers are
those of a single record (file, SHA-256, format, columns, run, ingest time, traceparent)
plus ``recon-lines`` (each record's line number) and ``recon-lengths`` (each record's
length in bytes). The chunk's correlation id is the ingest run's; each record's is
``<chunk's correlation id>:<line>``, what a record published alone gets (so a replayed
chunk, correlation id ``replay-<run>:<original>``, gives its records replay ids too).
Every record keeps its own outcome, DLQ entry (its original bytes), trace and redrive.
A message without ``recon-lines`` is one record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from streams.domain.accrual.postings import POSITION_BITS, RecordRef, position
from streams.errors import Category, RecordError, Stage
from streams.formats import headers as h
from streams.formats.records import HeaderList, Source
from streams.observability.tracing import child_of

LINES = "recon-lines"
LENGTHS = "recon-lengths"
MAX_RECORDS = 1 << POSITION_BITS  # a record's index must fit its position stamp


def frame(records: Sequence[tuple[int, bytes]]) -> tuple[bytes, HeaderList]:
    """The value and the framing headers of a chunk of (line, raw record) pairs."""
    if not 0 < len(records) <= MAX_RECORDS:
        raise ValueError(f"a chunk holds 1 to {MAX_RECORDS} records, not {len(records)}")
    value = b"".join(raw for _, raw in records)
    lines = ",".join(str(line) for line, _ in records)
    lengths = ",".join(str(len(raw)) for _, raw in records)
    return value, [(LINES, lines.encode()), (LENGTHS, lengths.encode())]


class OpenChunk:
    """A chunk being filled: records of one partition, the ingest time of its first."""

    __slots__ = ("ingested_at", "opened", "partition", "records", "size")

    def __init__(self, partition: int, ingested_at: str, opened: float) -> None:
        self.partition, self.ingested_at, self.opened = partition, ingested_at, opened
        self.records: list[tuple[int, bytes]] = []
        self.size = 0


class Chunker:
    """Gathers (line, raw) records per partition into chunks of at most ``max_records``
    records and ``max_bytes`` bytes (a record larger than that is a chunk of its own)."""

    def __init__(self, max_records: int, max_bytes: int) -> None:
        if not 0 < max_records <= MAX_RECORDS:
            raise ValueError(f"a chunk holds 1 to {MAX_RECORDS} records, not {max_records}")
        self.max_records, self.max_bytes = max_records, max_bytes
        self._open: dict[int, OpenChunk] = {}

    def add(
        self, partition: int, line: int, raw: bytes, ingested_at: str, now: float
    ) -> list[OpenChunk]:
        """Add a record; return the chunks this closed (full), oldest first."""
        closed = []
        chunk = self._open.get(partition)
        if chunk is not None and chunk.size + len(raw) > self.max_bytes:
            closed.append(self._open.pop(partition))
            chunk = None
        if chunk is None:
            chunk = self._open[partition] = OpenChunk(partition, ingested_at, now)
        chunk.records.append((line, raw))
        chunk.size += len(raw)
        if len(chunk.records) >= self.max_records:
            closed.append(self._open.pop(partition))
        return closed

    def opened_before(self, moment: float) -> list[OpenChunk]:
        """Close and return the chunks opened before ``moment`` (they have waited enough)."""
        due = [p for p, chunk in self._open.items() if chunk.opened <= moment]
        return [self._open.pop(p) for p in due]

    def close_all(self) -> list[OpenChunk]:
        closed, self._open = list(self._open.values()), {}
        return closed


def line_correlation_id(run_id: str, line: int) -> str:
    return f"{run_id}:{line}"


@dataclass
class Chunk:
    """A chunked message as the worker sees it: ``src`` is the message, ``records[i]``
    the raw bytes of the record on line ``lines[i]``."""

    src: Source
    lines: list[int]
    records: list[bytes]
    _sources: dict[int, Source] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def correlation_id(self) -> str:
        """The chunk's own: what its outcome record is keyed by."""
        return f"{self.src.correlation_id}:{self.lines[0]}-{self.lines[-1]}"

    def record_id(self, i: int) -> str:
        return line_correlation_id(self.src.correlation_id, self.lines[i])

    def position(self, i: int) -> int:
        return position(self.src.offset, i)

    def what(self, i: int) -> str:
        return f"{self.src.source_file} line {self.lines[i]}"

    def source(self, i: int) -> Source:
        """Record ``i`` as if it had come alone: its own headers (correlation id, line,
        traceparent), value and position; what its DLQ entry, outputs and redrive use."""
        cached = self._sources.get(i)
        if cached is not None:
            return cached
        parent = self.src.headers.get(h.TRACEPARENT)
        own = child_of(parent, seed=f"line {self.lines[i]}") if parent else ""
        headers = {k: v for k, v in self.src.headers.items() if k not in (LINES, LENGTHS)}
        headers[h.CORRELATION_ID] = self.record_id(i)
        headers[h.LINE] = str(self.lines[i])
        if own:
            headers[h.TRACEPARENT] = own
        src = Source(
            topic=self.src.topic,
            partition=self.src.partition,
            offset=self.src.offset,
            key=None,
            value=self.records[i],
            headers=headers,
            hop=child_of(own or None),
            timestamp=self.src.timestamp,
            raw_headers=tuple((k, v.encode()) for k, v in headers.items()),
            index=i,
        )
        self._sources[i] = src
        return src

    def ref(self, i: int) -> RecordRef:
        """What the engine keeps of record ``i`` (a posting's first or last record): its
        ledger entries' traceparent is a child of the chunk's hop, which decided it."""
        src = self.src
        return RecordRef(
            self.record_id(i),
            src.offset,
            src.source_file,
            self.lines[i],
            traceparent=src.hop_traceparent,
            ingested_at=src.ingested_at,
            topic=src.topic,
            partition=src.partition,
            index=i,
        )


def chunk_of(src: Source) -> Chunk | None:
    """The chunk ``src`` carries, or None for a message of one record. Raises RecordError
    (parse_error) when the framing headers do not describe the value."""
    lines_text = src.headers.get(LINES)
    if lines_text is None:
        return None
    what = f"chunk {src.topic}[{src.partition}]@{src.offset} of {src.source_file}"
    try:
        lines = [int(x) for x in lines_text.split(",")]
        lengths = [int(x) for x in src.headers.get(LENGTHS, "").split(",")]
    except ValueError as exc:
        raise RecordError(
            Category.PARSE_ERROR,
            Stage.PARSE,
            f"{what}: unreadable framing headers: {exc}",
            field=LINES,
        ) from exc
    if len(lines) != len(lengths) or sum(lengths) != len(src.value) or min(lengths) < 0:
        raise RecordError(
            Category.PARSE_ERROR,
            Stage.PARSE,
            f"{what}: {len(lines)} line numbers and {len(lengths)} lengths summing to "
            f"{sum(lengths)} do not frame a value of {len(src.value)} bytes",
            field=LENGTHS,
        )
    if len(lines) > MAX_RECORDS:
        raise RecordError(
            Category.PARSE_ERROR,
            Stage.PARSE,
            f"{what}: {len(lines)} records, more than {MAX_RECORDS} in one message",
            field=LINES,
        )
    records, start, value = [], 0, src.value
    for length in lengths:
        records.append(value[start : start + length])
        start += length
    return Chunk(src, lines, records)
