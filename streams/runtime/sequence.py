"""The frame every agent runs raw records through: decide, publish, record the outcome.

Records come in batches (Faust ``take_events``): a batch is decided record by record,
its state writes are flushed once per key, then its outputs are published. Every record
ends in exactly one outcome (applied, duplicate, dead_lettered), published to the outcomes
topic keyed by correlation id. Nothing escapes ``handle_batch``: an error that is not a
RecordError is a poison pill and is dead-lettered with a stack summary, so the partition
keeps moving (an exception inside a Faust agent would kill the agent).
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import faust
from faust.streams import _current_event
from faust.types import EventT, StreamT, TopicT

from streams.domain.models.outcome import Outcome
from streams.domain.models.parsing import parse_columns
from streams.errors import Category, RecordError, Stage
from streams.formats import headers as h
from streams.formats.records import (
    HeaderList,
    Source,
    describe_unexpected,
    dlq_record,
    outcome_record,
)
from streams.kafka.direct import DirectOutput
from streams.observability.logs import record_context
from streams.observability.metrics import Metrics
from streams.observability.tracing import child_of, seconds_since
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Send:
    """A direct output: must be deterministic for the record, so a resend is harmless."""

    topic: TopicT
    key: bytes
    value: bytes
    schema: str


@dataclass
class Decision:
    outcome: Outcome
    idempotency_key: str | None
    sends: list[Send] = field(default_factory=list)


@dataclass(frozen=True)
class Decided:
    """A record of a batch once decided: its decision, or why it is dead-lettered."""

    src: Source
    decision: Decision | None
    error: RecordError | None
    started: float  # perf_counter when its decision began


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
    return Source(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        value=msg.value or b"",
        headers=(headers := h.to_dict(msg.headers)),
        hop=child_of(headers.get(h.TRACEPARENT)),
    )


class RecordProcessor(ABC):
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
        self._columns: dict[str, list[str]] = {}

    @abstractmethod
    def decide(self, src: Source) -> Decision:
        """Validate and apply one record. Synchronous on purpose: no await may split a
        read-modify-write of the state. Raises RecordError for a bad record."""

    def columns(self, src: Source) -> list[str]:
        header = src.headers.get(h.COLUMNS)
        if header is None:
            raise RecordError(
                Category.SCHEMA_VIOLATION,
                Stage.PARSE,
                f"{self.what(src)}: no {h.COLUMNS} header, so its fields cannot be named "
                "(publish CSV with `recon ingest`)",
                field=h.COLUMNS,
            )
        cols = self._columns.get(header)
        if cols is None:
            cols = self._columns[header] = parse_columns(header)
        return cols

    @staticmethod
    def what(src: Source) -> str:
        return f"{src.source_file} line {src.line}"

    def flush(self) -> None:  # noqa: B027 - most processors write their state directly
        """Write what ``decide`` deferred (write-behind state); called under the last event
        of each partition's run of records in a batch."""

    async def handle(self, src: Source) -> Outcome:
        """One record on its own, under the stream's current event (a batch of one)."""
        decided = self._decide(src)
        self.flush()
        outcome = await self._publish(decided)
        if self.output is not None:
            await self.output.flush()
        return outcome

    async def handle_batch(self, events: Sequence[EventT[Any]]) -> list[Outcome]:
        """Decide every record of the batch, flush the state, then publish the outputs.

        Deciding and flushing never await, so no other agent sees a batch half-applied;
        the events are acked (and their offsets committed) only after this returns."""
        started = time.perf_counter()
        by_partition: dict[int, list[EventT[Any]]] = {}
        for event in events:
            by_partition.setdefault(event.message.partition, []).append(event)
        decided: list[Decided] = []
        for run in by_partition.values():
            for event in run:
                with in_event(event):
                    decided.append(self._decide(source_of(event)))
            with in_event(run[-1]):
                self.flush()
        outcomes = [await self._publish(d) for d in decided]
        if self.output is not None:
            await self.output.flush()  # before the batch is acked
        self.metrics.batch_processing.labels(self.agent).observe(time.perf_counter() - started)
        return outcomes

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

    def _decide(self, src: Source) -> Decided:
        started = time.perf_counter()
        with self._context(src):
            self.metrics.child(self.metrics.records_in, src.topic, "process").inc()
            try:
                return Decided(src, self.decide(src), None, started)
            except RecordError as err:
                return Decided(src, None, err, started)
            except Exception as exc:  # poison pill: never let it kill the agent
                log.exception("unexpected error on %s", self.what(src))
                pill = RecordError(
                    Category.PROCESSING_ERROR, Stage.COMPUTE, describe_unexpected(exc)
                )
                return Decided(src, None, pill, started)

    async def _publish(self, decided: Decided) -> Outcome:
        src, decision = decided.src, decided.decision
        with self._context(src):
            if decision is None:
                assert decided.error is not None
                await self._dead_letter(src, decided.error)
                outcome = Outcome.DEAD_LETTERED
            else:
                for send in decision.sends:
                    await self._send(
                        send.topic, send.key, send.value, src.trace_headers(send.schema)
                    )
                    self._published(src, send.topic, send.schema)
                await self._outcome(src, decision.outcome, decision.idempotency_key)
                outcome = decision.outcome
            self.metrics.child(self.metrics.outcomes, src.topic, outcome.value).inc()
            if outcome is Outcome.DUPLICATE:
                self.metrics.child(self.metrics.duplicates_skipped, src.topic).inc()
            self.metrics.child(self.metrics.record_processing, self.agent).observe(
                time.perf_counter() - decided.started
            )
            log.debug("decided %s", outcome.value, extra={"outcome": outcome.value})
        return outcome

    async def _send(self, topic: TopicT, key: bytes, value: bytes, headers: HeaderList) -> None:
        if self.output is not None:
            self.output.send(topic.get_topic_name(), key, value, headers)
        else:
            await topic.send(key=key, value=value, headers=headers)

    def _published(self, src: Source, topic: TopicT, stage: str) -> None:
        self.metrics.child(self.metrics.records_out, topic.get_topic_name(), "process").inc()
        latency = seconds_since(src.ingested_at)
        if latency is not None:
            self.metrics.child(self.metrics.latency, stage).observe(latency)

    async def _dead_letter(self, src: Source, err: RecordError) -> None:
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
        await self._outcome(src, Outcome.DEAD_LETTERED, None)

    async def _outcome(self, src: Source, outcome: Outcome, idem: str | None) -> None:
        await self._send(
            self.outcomes,
            src.correlation_id.encode(),
            outcome_record(src, outcome, idem),
            src.trace_headers("outcome"),
        )
        self._published(src, self.outcomes, "outcome")


def dead_letter_message(src: Source, err: RecordError) -> tuple[bytes, bytes, HeaderList]:
    """Key, value and headers of the DLQ record of ``src`` (original bytes, category,
    position, trace headers)."""
    dlq_id, payload = dlq_record(src, err)
    headers = [*src.trace_headers("dlq_record"), ("recon-dlq-id", dlq_id.encode())]
    return src.correlation_id.encode(), payload, headers


async def send_dead_letter(dlq: TopicT, src: Source, err: RecordError, metrics: Metrics) -> None:
    key, value, headers = dead_letter_message(src, err)
    await dlq.send(key=key, value=value, headers=headers)
    metrics.dlq_records.labels(err.category.value, err.stage.value).inc()


EXIT_BATCH_FAILED = 70  # EX_SOFTWARE


def exit_without_acking(agent: str, exc: BaseException) -> NoReturn:
    """A batch whose outputs may not all be durable must not be acked, and Faust would ack
    it (``take_events`` acks a batch even when its consumer raises, and a stopping worker
    commits what was acked). So exit at once, as kill -9 would: the restarted worker
    rebuilds its state from the changelog and processes the batch again."""
    log.critical("%s: a batch failed, exiting without committing it: %s", agent, exc, exc_info=exc)
    logging.shutdown()
    os._exit(EXIT_BATCH_FAILED)


def attach(
    app: faust.App,
    settings: Settings,
    topic: TopicT,
    processor: RecordProcessor,
    name: str,
    *,
    batched: bool = True,
) -> None:
    """Run ``processor`` over the events of ``topic`` as the agent ``name``: in batches,
    or one event at a time (``batched=False``)."""
    processor.agent = name

    async def process_batches(stream: StreamT[Any]) -> None:
        # faust-streaming has take_events; its StreamT stub does not declare it.
        batches = stream.take_events(  # type: ignore[attr-defined]
            settings.agent_batch_max, settings.agent_batch_seconds
        )
        async for events in batches:
            try:
                await processor.handle_batch(events)
            except Exception as exc:
                exit_without_acking(name, exc)

    async def process_events(stream: StreamT[Any]) -> None:
        async for event in stream.events():
            await processor.handle(source_of(event))

    app.agent(topic, name=name)(process_batches if batched else process_events)
