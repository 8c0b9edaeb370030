"""The frame every agent runs a raw record through: decide, publish, record the outcome.

Every record ends in exactly one outcome (applied, duplicate, dead_lettered), published to
the outcomes topic keyed by correlation id. Nothing escapes ``handle``: an error that is
not a RecordError is a poison pill and is dead-lettered with a stack summary, so the
partition keeps moving (an exception inside a Faust agent would kill the agent).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types import EventT, StreamT, TopicT

from streams.agents.outputs import Source, describe_unexpected, dlq_record, outcome_record
from streams.errors import Category, RecordError, Stage
from streams.ingest import headers as h
from streams.models.outcome import Outcome
from streams.models.parsing import parse_columns
from streams.observability.logs import record_context
from streams.observability.metrics import Metrics
from streams.observability.tracing import child_of, seconds_since

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
    def __init__(self, outcomes: TopicT, dlq: TopicT, metrics: Metrics) -> None:
        self.outcomes = outcomes
        self.dlq = dlq
        self.metrics = metrics
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

    async def handle(self, src: Source) -> Outcome:
        started = time.perf_counter()
        context = record_context(
            correlation_id=src.correlation_id,
            traceparent=src.hop_traceparent,
            source_file=src.source_file,
            line=src.line,
            topic=src.topic,
            partition=src.partition,
            offset=src.offset,
            agent=self.agent,
        )
        with context:
            self.metrics.records_in.labels(src.topic, "process").inc()
            outcome = await self._decide_and_publish(src)
            self.metrics.outcomes.labels(src.topic, outcome.value).inc()
            if outcome is Outcome.DUPLICATE:
                self.metrics.duplicates_skipped.labels(src.topic).inc()
            self.metrics.record_processing.labels(self.agent).observe(
                time.perf_counter() - started
            )
            log.debug("decided %s", outcome.value, extra={"outcome": outcome.value})
        return outcome

    async def _decide_and_publish(self, src: Source) -> Outcome:
        try:
            decision = self.decide(src)
        except RecordError as err:
            await self._dead_letter(src, err)
            return Outcome.DEAD_LETTERED
        except Exception as exc:  # poison pill: never let it kill the agent
            log.exception("unexpected error on %s", self.what(src))
            pill = RecordError(Category.PROCESSING_ERROR, Stage.COMPUTE, describe_unexpected(exc))
            await self._dead_letter(src, pill)
            return Outcome.DEAD_LETTERED
        for send in decision.sends:
            await send.topic.send(
                key=send.key, value=send.value, headers=src.trace_headers(send.schema)
            )
            self._published(src, send.topic, send.schema)
        await self._outcome(src, decision.outcome, decision.idempotency_key)
        return decision.outcome

    def _published(self, src: Source, topic: TopicT, stage: str) -> None:
        self.metrics.records_out.labels(topic.get_topic_name(), "process").inc()
        latency = seconds_since(src.ingested_at)
        if latency is not None:
            self.metrics.latency.labels(stage).observe(latency)

    async def _dead_letter(self, src: Source, err: RecordError) -> None:
        log.warning(
            "dead-lettered [%s] %s",
            err.category.value,
            err,
            extra={"category": err.category.value, "outcome": Outcome.DEAD_LETTERED.value},
        )
        await send_dead_letter(self.dlq, src, err, self.metrics)
        self._published(src, self.dlq, "dlq")
        await self._outcome(src, Outcome.DEAD_LETTERED, None)

    async def _outcome(self, src: Source, outcome: Outcome, idem: str | None) -> None:
        await self.outcomes.send(
            key=src.correlation_id.encode(),
            value=outcome_record(src, outcome, idem),
            headers=src.trace_headers("outcome"),
        )
        self._published(src, self.outcomes, "outcome")


async def send_dead_letter(dlq: TopicT, src: Source, err: RecordError, metrics: Metrics) -> None:
    """The DLQ record of ``src`` (original bytes, category, position, trace headers)."""
    dlq_id, payload = dlq_record(src, err)
    await dlq.send(
        key=src.correlation_id.encode(),
        value=payload,
        headers=[*src.trace_headers("dlq_record"), ("recon-dlq-id", dlq_id.encode())],
    )
    metrics.dlq_records.labels(err.category.value, err.stage.value).inc()


def attach(app: faust.App, topic: TopicT, processor: RecordProcessor, name: str) -> None:
    """Run ``processor`` over every event of ``topic`` as the agent ``name``."""
    processor.agent = name

    async def process(stream: StreamT[Any]) -> None:
        async for event in stream.events():
            await processor.handle(source_of(event))

    app.agent(topic, name=name)(process)
