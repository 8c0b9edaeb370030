"""The acknowledgement pipeline: ack requests in, X12 acks and ack exceptions out.

``recon.acks`` applies each request of ``edi.acks.input`` (keyed by partner) to the
AckEngine over the ``edi-acks`` table; a tick every ``RECON_MATCH_TICK_SECONDS`` finds the
groups we sent whose ack is overdue. The rows' outboxes are relayed: acks to ``acks`` (as
X12), exceptions to ``exceptions`` (docs/edi-controls.md).
"""

from __future__ import annotations

import json

import faust

from streams.domain.acks import AckConfig, AckEngine
from streams.domain.matching.messages import Tick
from streams.formats.records import Source
from streams.ingest.acks import own_parties
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.relay.acks import publish_of
from streams.relay.matching import outbox_publishes
from streams.runtime.agents import attach
from streams.runtime.decisions import Decision
from streams.runtime.pipeline import Pipeline, raw_topic, state_table, window_ticks
from streams.runtime.pipelines.matching import ingested_micros
from streams.runtime.sequence import RecordProcessor
from streams.runtime.state.table import TableState
from streams.settings import Settings


def config_of(settings: Settings) -> AckConfig:
    return AckConfig(own_parties(settings), round(settings.ack_timeout_seconds * 1_000_000))


class AcksProcessor(RecordProcessor):
    """Requests are internal messages (ingest's, not records of a file): one that cannot
    be applied is dead-lettered as a processing error, without an outcome."""

    dead_letter_is_outcome = False

    def __init__(
        self, engine: AckEngine, outcomes: faust.TopicT, dlq: faust.TopicT, metrics: Metrics
    ):
        super().__init__(outcomes, dlq, metrics)
        self.engine = engine

    @staticmethod
    def what(src: Source) -> str:
        return f"ack request {src.topic}/{src.partition}@{src.offset}"

    def decide(self, src: Source) -> Decision:
        request = json.loads(src.value)
        at = ingested_micros(src) or src.timestamp
        self.engine.apply(request, src.partition, at)
        return Decision(None)

    def tick(self, src: Source, tick: Tick) -> None:
        self.engine.tick(src.partition, tick.now)


def register(app: faust.App, settings: Settings, metrics: Metrics) -> Pipeline:
    outcomes, dlq = raw_topic(app, settings, t.OUTCOMES), raw_topic(app, settings, t.DLQ)
    requests = raw_topic(app, settings, t.ACKS_INPUT)
    table = state_table(app, settings, t.ACKS_TABLE)
    engine = AckEngine(TableState(table), config_of(settings))
    processor = AcksProcessor(engine, outcomes, dlq, metrics)
    attach(app, settings, requests, processor, "recon.acks", one_at_a_time=True)
    ticks = window_ticks(app, settings, requests, "recon.acks-tick")
    return Pipeline(
        name="acks",
        source_topics=(settings.topic(t.ACKS_INPUT),),
        relays={
            t.changelog_topic(settings, t.ACKS_TABLE): outbox_publishes(settings, b"p:", publish_of)
        },
        on_caught_up=ticks,
    )
