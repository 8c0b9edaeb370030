"""What a delivery target is: one small protocol, the entries it takes and what it answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from confluent_kafka import Message

from streams.errors import Category, ReconError, RecordError, Stage
from streams.formats import avro
from streams.formats.records import Source, source_of_message
from streams.kafka import topics as t

LEDGER_SCHEMA = "ledger_entry"
# What each topic a target may read carries; the matches topic carries two schemas, named by
# each message's schema header (trade pairs and three-way document matches).
TOPIC_SCHEMAS: dict[str, str | None] = {
    t.LEDGER: LEDGER_SCHEMA,
    t.MATCHES: None,
    t.EXCEPTIONS: "match_exception",
    t.INVENTORY_LEDGER: "inventory_event",
}
EVENT_SCHEMAS = frozenset({"match", "document_match", "match_exception"})

# How a target reads the body of one schema's messages, instead of avro.decode: a record
# shaped for what it writes (the PostgreSQL target's ledger rows, pg_ledger).
Reader = Callable[[bytes], dict[str, Any]]
Readers = Mapping[str, Reader]
NO_READERS: Readers = MappingProxyType({})


class TargetUnavailable(ReconError):
    """The target cannot take anything now (down, breaker open): the batch is held, the
    consumer's partitions are paused, and the same batch is offered again later."""


@dataclass(slots=True)
class Entry:
    """One ledger entry as consumed: where it was read, the decoded Avro record, and the
    message itself (its headers are decoded only if it is dead-lettered: decoding them and
    drawing a traceparent for every entry was a third of the loop's time). Not frozen: a
    frozen dataclass sets each field through object.__setattr__, a cost per entry; nothing
    changes an Entry once built."""

    topic: str
    partition: int
    offset: int
    record: dict[str, Any]
    message: Message | None = None
    schema: str = LEDGER_SCHEMA  # the Avro schema of ``record``

    @property
    def entry_id(self) -> str:
        """The id the target holds unique: a ledger entry's, or an event's."""
        record = self.record
        return str(record["entry_id"] if "entry_id" in record else record["event_id"])

    def source(self) -> Source:
        """The message as a pipeline's Source (for its DLQ record)."""
        if self.message is None:
            return Source(self.topic, self.partition, self.offset, None, b"", {})
        return message_source(self.message)


def message_source(msg: Message) -> Source:
    raw = msg.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    headers = [(k, v.encode() if isinstance(v, str) else (v or b"")) for k, v in pairs]
    return source_of_message(
        msg.topic() or "",
        msg.partition() or 0,
        msg.offset() or 0,
        msg.key(),
        msg.value(),
        headers,
        msg.timestamp()[1],
    )


def header_schema(msg: Message) -> str:
    """The schema a matches-topic message's header names; ``match`` without one, as
    `recon matches export` reads them."""
    raw = msg.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    for name, value in pairs:
        if name == avro.SCHEMA_HEADER and value:
            return value.decode() if isinstance(value, bytes) else str(value)
    return "match"


def entry_of(
    msg: Message, schema: str | None = LEDGER_SCHEMA, readers: Readers = NO_READERS
) -> Entry:
    """The record ``msg`` carries, decoded with ``schema`` (None: the one its schema header
    names, a match event's), by the reader ``readers`` has for it if any; a RecordError
    (parse_error) if it is not one."""
    topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
    value = msg.value() or b""
    name = schema or header_schema(msg)
    try:
        if schema is None and name not in EVENT_SCHEMAS:
            raise ValueError(f"schema header {name!r} names no match event")
        read = readers.get(name)
        record = read(value) if read is not None else avro.decode(name, value)
    except Exception as exc:  # fastavro raises plain ValueError, EOFError, IndexError...
        raise RecordError(
            Category.PARSE_ERROR,
            Stage.SINK,
            f"{topic}/{partition}@{offset}: value is not an Avro {name or 'record'} "
            f"({type(exc).__name__}: {exc})",
            field="value",
            value=value[:64],
        ) from exc
    return Entry(topic, partition, offset, record, msg, name)


@dataclass
class Delivered:
    """What a target did with a batch: every entry is either accepted (possibly as a
    replay the target already had) or rejected, to be dead-lettered with its error."""

    accepted: int = 0
    rejected: list[tuple[Entry, RecordError]] = field(default_factory=list)


@dataclass(frozen=True)
class Position:
    """The next offset to read of one partition: what a target stores with its batch."""

    topic: str
    partition: int
    offset: int


class Target(Protocol):
    """A downstream system that takes ledger entries with an exactly-once effect: a
    replayed entry (same entry_id) must leave it as it was."""

    name: str
    topics: tuple[str, ...]  # logical names of the topics it takes (TOPIC_SCHEMAS)
    # True: the target keeps the offsets with its data (in the same transaction) and seeks
    # there; the group's commits are only a fallback, so they need not wait.
    stores_positions: bool
    # Optional (read with getattr, default none): schema name -> its own Reader.

    def start(self) -> None:
        """Connect and prepare (tables, sessions); may raise TargetUnavailable."""

    def stored_positions(self, group: str, topic: str) -> dict[int, int]:
        """Next offsets per partition that the target itself recorded for ``group`` (a
        target that stores offsets with its data); empty: use the group's commits."""

    def deliver(
        self,
        group: str,
        entries: list[Entry],
        positions: list[Position],
        meanwhile: Callable[[], None] | None = None,
    ) -> Delivered:
        """Deliver ``entries`` (and, for a target that stores them, ``positions``, in the
        same transaction). Raises TargetUnavailable when nothing could be done now.

        ``meanwhile``: the caller's own work (decoding the next batch), which the target may
        run once while its server works on what it was sent; the caller runs it if not."""

    def close(self) -> None: ...
