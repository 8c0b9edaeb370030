"""What the sequence decides for a record, and the conditions that stop the worker
(streams/runtime/sequence.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from faust.types import TopicT

from streams.domain.models.outcome import Outcome
from streams.errors import ReconError, RecordError
from streams.formats.chunks import Chunk
from streams.formats.records import HeaderList, Source


class WorkerMustStop(ReconError):
    """A condition under which no record can be processed safely: the worker stops."""


class StateLost(WorkerMustStop):
    """The batch's state could not be written: what the records decided may be lost."""


class OutputsUndelivered(WorkerMustStop):
    """The broker did not take the batch's outputs within the producer's delivery timeout:
    unreachable past that limit, or the producer was fenced or refused them."""


class SequenceFailed(WorkerMustStop):
    """The sequence itself failed outside any one record (a bug in the frame)."""


@dataclass(frozen=True)
class Send:
    """A direct output: must be deterministic for the record, so a resend is harmless.
    ``headers`` None: the record's trace headers under ``schema``."""

    topic: TopicT
    key: bytes | None
    value: bytes
    schema: str
    headers: HeaderList | None = None


@dataclass(frozen=True)
class Revision:
    """A new outcome for an *earlier* record, decided by this one (an original of a
    business identity arriving after the copy that was applied in its place, §5.6): the
    earlier record's correlation id and where it was read. Latest decision wins (§1.1)."""

    correlation_id: str
    source_file: str
    file_sha256: str
    line: int
    record_format: str
    outcome: Outcome
    idempotency_key: str | None = None


@dataclass
class Decision:
    """What deciding a record produced. ``outcome`` None: this stage decides no outcome
    for the record (a later stage does, or it is an internal message). ``revisions``: the
    outcomes of earlier records this one changes (deterministic, so a resend is harmless)."""

    outcome: Outcome | None
    idempotency_key: str | None = None
    sends: list[Send] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)


@dataclass(frozen=True)
class Decided:
    """A record of a batch once decided: its decision, or why it is dead-lettered."""

    src: Source
    decision: Decision | None
    error: RecordError | None
    started: float  # perf_counter when its decision began
    # Dead-lettering it is its outcome: a source record's, not a tick's or an internal
    # message's (see ``RecordProcessor.dead_letter_is_outcome``).
    owes_outcome: bool = True


@dataclass(frozen=True)
class DecidedChunk:
    """A chunked message once decided: for each of its records, its decision or why it is
    dead-lettered (a chunk holds source records: each is owed an outcome)."""

    chunk: Chunk
    results: list[Decision | RecordError]
    started: float
