"""What a delivery target is: one small protocol, the entries it takes and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka import Message

from streams.errors import Category, ReconError, RecordError, Stage
from streams.formats import avro
from streams.formats.records import Source, source_of_message


class TargetUnavailable(ReconError):
    """The target cannot take anything now (down, breaker open): the batch is held, the
    consumer's partitions are paused, and the same batch is offered again later."""


@dataclass(frozen=True)
class Entry:
    """One ledger entry as consumed: the decoded Avro record and where it came from."""

    source: Source
    record: dict[str, Any]

    @property
    def entry_id(self) -> str:
        return str(self.record["entry_id"])


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


def entry_of(src: Source) -> Entry:
    """The ledger entry ``src`` carries; a RecordError (parse_error) if it is not one."""
    try:
        record = avro.decode("ledger_entry", src.value)
    except Exception as exc:  # fastavro raises plain ValueError, EOFError, IndexError...
        raise RecordError(
            Category.PARSE_ERROR,
            Stage.SINK,
            f"{src.topic}/{src.partition}@{src.offset}: value is not an Avro ledger_entry "
            f"({type(exc).__name__}: {exc})",
            field="value",
            value=src.value[:64],
        ) from exc
    return Entry(src, record)


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

    def start(self) -> None:
        """Connect and prepare (tables, sessions); may raise TargetUnavailable."""

    def stored_positions(self, group: str, topic: str) -> dict[int, int]:
        """Next offsets per partition that the target itself recorded for ``group`` (a
        target that stores offsets with its data); empty: use the group's commits."""

    def deliver(self, group: str, entries: list[Entry], positions: list[Position]) -> Delivered:
        """Deliver ``entries`` (and, for a target that stores them, ``positions``, in the
        same transaction). Raises TargetUnavailable when nothing could be done now."""

    def close(self) -> None: ...
