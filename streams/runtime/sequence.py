"""The one pipeline sequence, and the one failure policy, every agent runs.

Each batch of events (a batch of one for a stage that must see records one at a time)
goes through the same five steps:

1. **decide** every record, synchronously and under its own event: validate, dedupe,
   apply to the state (read-modify-write), choose the outputs. A window tick (see
   ``streams.formats.ticks``) advances the processor's clock instead; the records of a
   chunked message (``streams.formats.chunks``) are decided together, each with its own
   result;
2. **write state**: the processor's write-behind state, once per partition's run;
3. **produce** every record's outputs: direct outputs, its outcome, or its DLQ record
   (one outcome record for a chunk's records);
4. **flush** until every output is durable;
5. **commit**: return, so Faust acks the events and commits their offsets.

Steps 1-4 run in parts of a bounded number of records (``parts``). Deciding and writing
never await, so no other agent sees a part half-applied. The agents that run processors
are in ``streams.runtime.agents``; what a decision is, in ``streams.runtime.decisions``.

Failure policy. A record whose processing raises is one record's problem: a RecordError
is dead-lettered with its category, anything else with category ``processing_error`` and
a stack summary, and the partition moves on (an exception inside a Faust agent would kill
the agent). Only the named conditions below stop the worker; it then exits at once
without acking the batch, as kill -9 would, and the restarted worker re-processes the
batch on the state restored from the changelog (docs/design.md, "One pipeline sequence").
"""

from __future__ import annotations

import logging
import time
import weakref
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from typing import Any, cast

from faust.streams import _current_event
from faust.types import EventT, TopicT

from streams.domain.matching.messages import Tick
from streams.domain.models.outcome import Outcome
from streams.errors import Category, RecordError, Stage
from streams.formats import ticks
from streams.formats.chunks import LINES, Chunk, chunk_of
from streams.formats.columns import ColumnNames
from streams.formats.records import (
    HeaderList,
    Source,
    dead_letter_message,
    describe_unexpected,
    outcome_batch_record,
    outcome_record,
    poison_pill,
    revised_outcome_record,
    source_of_message,
)
from streams.kafka.direct import DirectOutput
from streams.observability.logs import record_context
from streams.observability.metrics import Metrics
from streams.observability.tracing import seconds_since
from streams.runtime.decisions import (
    Decided,
    DecidedChunk,
    Decision,
    OutputsUndelivered,
    SequenceFailed,
    StateLost,
    WorkerMustStop,
)

log = logging.getLogger(__name__)


@contextmanager
def in_event(event: EventT[Any]) -> Iterator[None]:
    """Make ``event`` Faust's current event: table reads, writes and their changelog
    records go to its partition. A batch's events are not current by themselves (the
    stream fills the batch in another task)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def source_of(event: EventT[Any]) -> Source:
    msg = event.message
    raw = msg.headers or ()
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    return source_of_message(
        msg.topic,
        msg.partition,
        msg.offset,
        msg.key,
        msg.value,
        cast("Iterable[tuple[str, bytes]]", pairs),
        round(msg.timestamp * 1000),
    )


class RecordProcessor(ABC):
    """One agent's decisions; ``run`` takes a batch through the sequence."""

    # Records decided and written before their outputs are flushed: bounds the memory and
    # the time without an await of a batch of chunks (set by ``attach``).
    records_per_part = 10_000
    # The input is source records, each owed exactly one outcome: dead-lettering one here
    # is its outcome. False for a stage reading internal messages, whose records' outcomes
    # an earlier stage already published.
    dead_letter_is_outcome = True

    def __init__(
        self,
        outcomes: TopicT,
        dlq: TopicT,
        metrics: Metrics,
        output: DirectOutput | None = None,
    ) -> None:
        self.outcomes = outcomes
        self.dlq = dlq
        self.metrics = metrics
        self.output = output  # None: Faust's producer
        self.agent = type(self).__name__  # replaced by ``attach`` with the agent's name
        self._column_names = ColumnNames()

    @abstractmethod
    def decide(self, src: Source) -> Decision:
        """Validate and apply one record. Synchronous on purpose: no await may split a
        read-modify-write of the state. Raises RecordError for a bad record."""

    def decide_chunk(self, chunk: Chunk) -> list[Decision | RecordError]:
        """Decide every record of a chunked message, in order: a decision per record, or
        its RecordError. By default each record as if it had come alone; a processor with
        a leaner path for many records at once overrides this."""
        results: list[Decision | RecordError] = []
        for i in range(len(chunk)):
            try:
                results.append(self.decide(chunk.source(i)))
            except RecordError as err:
                results.append(err)
            except Exception as exc:  # poison pill: this record only
                log.exception("unexpected error on %s", chunk.what(i))
                results.append(poison_pill(exc))
        return results

    def tick(self, src: Source, tick: Tick) -> None:
        """Advance the clock of ``src.partition`` (close the windows due). Stages whose
        input carries no ticks never see one."""
        raise RecordError(
            Category.SCHEMA_VIOLATION,
            Stage.PARSE,
            f"{self.what(src)}: a window tick on {src.topic}, which takes no ticks",
        )

    def write_state(self) -> None:  # noqa: B027 - most processors write their state directly
        """Write what ``decide`` deferred (write-behind state); called under the last event
        of each partition's run of records in a batch."""

    def columns(self, src: Source) -> list[str]:
        """The record's field names from its header, parsed once per distinct header."""
        return self._column_names.of(src, self.what(src))

    @staticmethod
    def what(src: Source) -> str:
        return f"{src.source_file} line {src.line}"

    async def run(self, events: Sequence[EventT[Any]]) -> list[Outcome | None]:
        """Take ``events`` through the sequence, in parts of at most ``records_per_part``
        records (a chunk counts its records: a batch of chunks is many records); raises
        only WorkerMustStop. Returns the outcome of every record, those of a chunk's in
        their order. Every part's outputs are flushed before the next part is decided,
        and the batch is committed after its last part."""
        outcomes: list[Outcome | None] = []
        for part in parts(events, self.records_per_part):
            outcomes += await self._run_part(part)
        return outcomes

    async def _run_part(self, events: Sequence[EventT[Any]]) -> list[Outcome | None]:
        started = time.perf_counter()
        try:
            decided = self._decide_and_write(events)
            outcomes: list[Outcome | None] = []
            for d in decided:
                if isinstance(d, DecidedChunk):
                    outcomes += await self._produce_chunk(d)
                else:
                    outcomes.append(await self._produce(d))
            await self._flush()
        except WorkerMustStop:
            raise
        except Exception as exc:
            raise SequenceFailed(f"{self.agent}: {describe_unexpected(exc)}") from exc
        self.metrics.batch_processing.labels(self.agent).observe(time.perf_counter() - started)
        return outcomes

    async def _flush(self) -> None:
        if self.output is None:
            return  # Faust flushes its own producer before it commits
        try:
            await self.output.flush()
        except Exception as exc:
            raise OutputsUndelivered(f"{self.agent}: {exc}") from exc

    def _decide_and_write(self, events: Sequence[EventT[Any]]) -> list[Decided | DecidedChunk]:
        by_partition: dict[int, list[EventT[Any]]] = {}
        for event in events:
            by_partition.setdefault(event.message.partition, []).append(event)
        decided: list[Decided | DecidedChunk] = []
        for run in by_partition.values():
            for event in run:
                with in_event(event):
                    decided.append(self._decide_message(source_of(event)))
            with in_event(run[-1]):
                try:
                    self.write_state()
                except Exception as exc:
                    raise StateLost(f"{self.agent}: writing the batch's state: {exc}") from exc
        return decided

    def _context(self, src: Source) -> ContextManager[None]:
        return record_context(
            correlation_id=src.correlation_id,
            traceparent=src.hop_traceparent,
            source_file=src.source_file,
            line=src.line,
            topic=src.topic,
            partition=src.partition,
            offset=src.offset,
            agent=self.agent,
        )

    def _decide_message(self, src: Source) -> Decided | DecidedChunk:
        try:
            chunk = chunk_of(src)
        except RecordError as err:  # framing that does not fit the value: one bad message
            return Decided(src, None, err, time.perf_counter(), self.dead_letter_is_outcome)
        return self._decide(src) if chunk is None else self._decide_chunk(chunk)

    def _decide_chunk(self, chunk: Chunk) -> DecidedChunk:
        started = time.perf_counter()
        with self._context(chunk.src):
            self.metrics.child(self.metrics.records_in, chunk.src.topic, "process").inc(len(chunk))
            try:
                results = self.decide_chunk(chunk)
            except RecordError as err:  # the chunk's own fault (no columns header): each line's
                results = [err] * len(chunk)
            except Exception as exc:  # poison pill of a whole-chunk path: all its records
                log.exception("unexpected error on %s", self.what(chunk.src))
                results = [poison_pill(exc)] * len(chunk)
            return DecidedChunk(chunk, results, started)

    def _decide(self, src: Source) -> Decided:
        started = time.perf_counter()
        with self._context(src):
            self.metrics.child(self.metrics.records_in, src.topic, "process").inc()
            tick = ticks.decode(src.key, src.value)
            owes = tick is None and self.dead_letter_is_outcome
            try:
                if tick is not None:
                    self.tick(src, tick)
                    return Decided(src, Decision(None), None, started, owes)
                return Decided(src, self.decide(src), None, started, owes)
            except RecordError as err:
                return Decided(src, None, err, started, owes)
            except Exception as exc:  # poison pill: never let it kill the agent
                log.exception("unexpected error on %s", self.what(src))
                return Decided(src, None, poison_pill(exc), started, owes)

    async def _produce(self, decided: Decided) -> Outcome | None:
        """Publish one record's outputs; an error building them dead-letters the record."""
        src = decided.src
        with self._context(src):
            try:
                outcome = await self._publish(decided)
            except Exception as exc:
                log.exception("unexpected error publishing %s", self.what(src))
                try:
                    await self._dead_letter(src, poison_pill(exc), decided.owes_outcome)
                except Exception as dlq_exc:
                    raise OutputsUndelivered(
                        f"{self.agent}: cannot dead-letter {self.what(src)}: {dlq_exc}"
                    ) from dlq_exc
                outcome = Outcome.DEAD_LETTERED if decided.owes_outcome else None
            if outcome is not None:
                self.metrics.child(self.metrics.outcomes, src.topic, outcome.value).inc()
                if outcome is Outcome.DUPLICATE:
                    self.metrics.child(self.metrics.duplicates_skipped, src.topic).inc()
                log.debug("decided %s", outcome.value, extra={"outcome": outcome.value})
            self.metrics.child(self.metrics.record_processing, self.agent).observe(
                time.perf_counter() - decided.started
            )
        return outcome

    async def _produce_chunk(self, decided: DecidedChunk) -> list[Outcome | None]:
        """Publish the outputs of a chunk's records and one outcome record for all of them
        (``outcome_batch``); a record whose outputs fail to build is dead-lettered alone."""
        chunk = decided.chunk
        outcomes: list[Outcome | None] = []
        with self._context(chunk.src):
            for i, result in enumerate(decided.results):
                try:
                    outcomes.append(await self._publish_line(chunk, i, result))
                except Exception as exc:
                    log.exception("unexpected error publishing %s", chunk.what(i))
                    try:
                        await self._dead_letter(chunk.source(i), poison_pill(exc), False)
                    except Exception as dlq_exc:
                        raise OutputsUndelivered(
                            f"{self.agent}: cannot dead-letter {chunk.what(i)}: {dlq_exc}"
                        ) from dlq_exc
                    outcomes.append(Outcome.DEAD_LETTERED if self.dead_letter_is_outcome else None)
            await self._outcome_batch(decided, outcomes)
            self.metrics.child(self.metrics.record_processing, self.agent).observe(
                time.perf_counter() - decided.started
            )
        return outcomes

    async def _publish_line(
        self, chunk: Chunk, i: int, result: Decision | RecordError
    ) -> Outcome | None:
        if isinstance(result, RecordError):
            src = chunk.source(i)
            with self._context(src):
                await self._dead_letter(src, result, False)
            return Outcome.DEAD_LETTERED if self.dead_letter_is_outcome else None
        for send in result.sends:
            src = chunk.source(i)
            headers = send.headers if send.headers is not None else src.trace_headers(send.schema)
            await self._send(send.topic, send.key, send.value, headers)
            self._published(src, send.topic, send.schema)
        return result.outcome

    async def _outcome_batch(self, decided: DecidedChunk, outcomes: list[Outcome | None]) -> None:
        chunk, counts = decided.chunk, Counter(o for o in outcomes if o is not None)
        if not counts:
            return
        ids, lines, kinds, idems = [], [], [], []
        for i, (outcome, result) in enumerate(zip(outcomes, decided.results, strict=True)):
            if outcome is None:
                continue
            ids.append(chunk.record_id(i))
            lines.append(chunk.lines[i])
            kinds.append(outcome.value)
            idems.append(result.idempotency_key if isinstance(result, Decision) else None)
        src = chunk.src
        value = outcome_batch_record(src, ids, lines, kinds, idems)
        headers = src.trace_headers("outcome_batch")
        await self._send(self.outcomes, chunk.correlation_id.encode(), value, headers)
        self._published(src, self.outcomes, "outcome", records=len(ids))
        for outcome, n in counts.items():
            self.metrics.child(self.metrics.outcomes, src.topic, outcome.value).inc(n)
        if counts[Outcome.DUPLICATE]:
            self.metrics.child(self.metrics.duplicates_skipped, src.topic).inc(
                counts[Outcome.DUPLICATE]
            )

    async def _publish(self, decided: Decided) -> Outcome | None:
        src, decision = decided.src, decided.decision
        if decision is None:
            assert decided.error is not None
            await self._dead_letter(src, decided.error, decided.owes_outcome)
            return Outcome.DEAD_LETTERED if decided.owes_outcome else None
        for send in decision.sends:
            headers = send.headers if send.headers is not None else src.trace_headers(send.schema)
            await self._send(send.topic, send.key, send.value, headers)
            self._published(src, send.topic, send.schema)
        if decision.outcome is not None:
            await self._outcome(src, decision.outcome, decision.idempotency_key)
        for rev in decision.revisions:
            value = revised_outcome_record(
                rev.correlation_id, rev.source_file, rev.file_sha256, rev.line,
                rev.record_format, rev.outcome, rev.idempotency_key,
            )  # fmt: skip
            await self._send(
                self.outcomes, rev.correlation_id.encode(), value, src.trace_headers("outcome")
            )
            self._published(src, self.outcomes, "outcome")
            self.metrics.child(self.metrics.outcome_revisions, src.topic, rev.outcome.value).inc()
        return decision.outcome

    async def _send(
        self, topic: TopicT, key: bytes | None, value: bytes, headers: HeaderList
    ) -> None:
        if self.output is not None:
            self.output.send(topic.get_topic_name(), key, value, headers)
        else:
            await topic.send(key=key, value=value, headers=headers)

    def _published(self, src: Source, topic: TopicT, stage: str, records: int = 1) -> None:
        """Count ``records`` records out (a chunk's outcome record holds many)."""
        self.metrics.child(self.metrics.records_out, topic.get_topic_name(), "process").inc(records)
        latency = seconds_since(src.ingested_at)
        if latency is not None:
            self.metrics.child(self.metrics.latency, stage).observe(latency)

    async def _dead_letter(self, src: Source, err: RecordError, with_outcome: bool) -> None:
        log.warning(
            "dead-lettered [%s] %s",
            err.category.value,
            err,
            extra={"category": err.category.value, "outcome": Outcome.DEAD_LETTERED.value},
        )
        key, value, headers = dead_letter_message(src, err)
        await self._send(self.dlq, key, value, headers)
        self.metrics.dlq_records.labels(err.category.value, err.stage.value).inc()
        self._published(src, self.dlq, "dlq")
        if with_outcome:
            await self._outcome(src, Outcome.DEAD_LETTERED, None)

    async def _outcome(self, src: Source, outcome: Outcome, idem: str | None) -> None:
        await self._send(
            self.outcomes,
            src.correlation_id.encode(),
            outcome_record(src, outcome, idem),
            src.trace_headers("outcome"),
        )
        self._published(src, self.outcomes, "outcome")


def parts(events: Sequence[EventT[Any]], records: int) -> Iterator[Sequence[EventT[Any]]]:
    """Consecutive runs of ``events`` holding at most ``records`` records each (a chunk's
    records all in one run, however many)."""
    start, count = 0, 0
    for i, event in enumerate(events):
        n = records_in(event.message.headers)
        if count and count + n > records:
            yield events[start:i]
            start, count = i, 0
        count += n
    if start < len(events):
        yield events[start:]


def records_in(headers: Any) -> int:
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name == LINES and value:
            return int(value.count(b",")) + 1
    return 1
