"""The trade matching pipeline: trades and confirmations in, matches and exceptions out.

Three stages (docs/matching.md):

1. ``recon.trades`` / ``recon.confirmations`` read the raw topics (keyed by match group, as
   ingested) and re-key each record by its record id onto ``matching.records``, untouched,
   headers included: every version of one id must meet in one place, and an amendment may
   change the key fields, hence the group and the raw partition.
2. ``recon.match-records`` validates (DLQ), dedupes, decides the outcome and which version
   is live where (RecordBook); its table rows carry the Upsert/Retract messages for the
   group stage, which the outbox relay publishes to ``matching.input`` keyed by group.
3. ``recon.match-groups`` keeps each group's records, pairing and exceptions (MatchEngine);
   its rows carry the match and exception events the relay publishes. A timer sends a tick
   to every partition of ``matching.input`` so expired windows close on a quiet feed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import faust
from faust.types import TopicT

from streams.domain.matching import messages
from streams.domain.matching.engine import MatchConfig, MatchEngine
from streams.domain.matching.records import RecordBook
from streams.domain.matching.rules import Tolerances
from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.trades import ID_COLUMNS, MODELS, SIDES
from streams.errors import Category, RecordError, Stage
from streams.formats import headers as h
from streams.formats.csv_source import field_at
from streams.formats.records import Source
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.relay.matching import outbox_publishes
from streams.runtime.agents import attach
from streams.runtime.decisions import Decision
from streams.runtime.pipeline import Pipeline, raw_topic, state_table, window_ticks
from streams.runtime.pipelines.forward import Forward
from streams.runtime.sequence import RecordProcessor
from streams.runtime.state.table import TableState
from streams.settings import Settings


def config_of(settings: Settings) -> MatchConfig:
    return MatchConfig(
        Tolerances.of(
            settings.match_quantity_tolerance,
            settings.match_price_tolerance,
            settings.match_time_tolerance_seconds,
        ),
        lateness=round(settings.match_allowed_lateness_seconds * 1_000_000),
        timeout=round(settings.match_window_timeout_seconds * 1_000_000),
    )


def record_id_key(value: bytes, headers: dict[str, str]) -> bytes:
    """``side:id`` of a raw record, or its SHA-256 when unreadable (it is dead-lettered by
    the record stage; the key only has to be deterministic)."""
    fmt = headers.get(h.FORMAT, "")
    try:
        columns = parse_columns(headers.get(h.COLUMNS, ""))
    except RecordError:
        columns = []
    column = ID_COLUMNS.get(fmt)
    if column in columns:
        record_id = field_at(value, columns.index(column))
        if record_id is not None:
            return f"{SIDES[fmt].value}:{record_id}".encode()
    return hashlib.sha256(value).hexdigest().encode()


class RecordsProcessor(RecordProcessor):
    """Stage 2: one outcome per raw record, decided where all its copies meet."""

    def __init__(self, book: RecordBook, outcomes: TopicT, dlq: TopicT, metrics: Metrics) -> None:
        super().__init__(outcomes, dlq, metrics)
        self.book = book

    def decide(self, src: Source) -> Decision:
        model = MODELS.get(src.record_format)
        if model is None:
            raise RecordError(
                Category.SCHEMA_VIOLATION,
                Stage.PARSE,
                f"{self.what(src)}: record format {src.record_format!r} is neither "
                f"{' nor '.join(MODELS)} (publish with `recon ingest trades|confirmations`)",
                field=h.FORMAT,
                value=src.record_format,
            )
        record = to_model(model, self.columns(src), src.value, self.what(src))
        outcome = self.book.apply(
            record, src.correlation_id, ingested_micros(src), src.hop_traceparent
        )
        return Decision(outcome, record.idempotency_key)


def ingested_micros(src: Source) -> int:
    """When the record entered the system (its ingest header): deterministic on replay."""
    text = src.headers.get(h.INGESTED_AT, "")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return 0
    return round(stamp.timestamp() * 1_000_000) if stamp.tzinfo else 0


def by_record_id(src: Source) -> bytes:
    return record_id_key(src.value, src.headers)


class GroupsProcessor(RecordProcessor):
    """Stage 3: the group stage applies the internal Upsert/Retract messages and the ticks.
    A message that cannot be applied is a bug, not bad input: it is dead-lettered
    (processing_error), and the outcome its record already has stands."""

    dead_letter_is_outcome = False

    def __init__(self, engine: MatchEngine, outcomes: TopicT, dlq: TopicT, metrics: Metrics):
        super().__init__(outcomes, dlq, metrics)
        self.engine = engine

    @staticmethod
    def what(src: Source) -> str:
        return f"match-input {src.topic}/{src.partition}@{src.offset}"

    def decide(self, src: Source) -> Decision:
        self.engine.apply(messages.decode(src.value), src.partition, src.timestamp)
        return Decision(None)

    def tick(self, src: Source, tick: messages.Tick) -> None:
        self.engine.apply(tick, src.partition, src.timestamp)


def register(app: faust.App, settings: Settings, metrics: Metrics) -> Pipeline:
    outcomes, dlq = raw_topic(app, settings, t.OUTCOMES), raw_topic(app, settings, t.DLQ)
    records, match_input = (
        raw_topic(app, settings, t.MATCH_RECORDS),
        raw_topic(app, settings, t.MATCH_INPUT),
    )
    for raw, name in ((t.RAW_TRADES, "recon.trades"), (t.RAW_CONFIRMATIONS, "recon.confirmations")):
        rekey = Forward(records, outcomes, dlq, metrics, by_record_id)
        attach(app, settings, raw_topic(app, settings, raw), rekey, name, one_at_a_time=True)

    by_id = state_table(app, settings, t.RECORDS_TABLE)
    book = RecordBook(TableState(by_id))

    # One record at a time: the order trades and confirmations reach the group stage
    # drives its event-time watermark, and grouping a batch by partition reorders them
    # further than the re-keying already does (docs/matching.md, "Backfills and
    # lateness"), so more windows would close before the other side arrives.
    processor = RecordsProcessor(book, outcomes, dlq, metrics)
    attach(app, settings, records, processor, "recon.match-records", one_at_a_time=True)

    by_group = state_table(app, settings, t.GROUPS_TABLE)
    engine = MatchEngine(TableState(by_group), config_of(settings))
    groups = GroupsProcessor(engine, outcomes, dlq, metrics)
    attach(app, settings, match_input, groups, "recon.match-groups", one_at_a_time=True)

    close_windows = window_ticks(app, settings, match_input, "recon.match-tick")
    return Pipeline(
        name="matching",
        source_topics=tuple(
            settings.topic(name)
            for name in (t.RAW_TRADES, t.RAW_CONFIRMATIONS, t.MATCH_RECORDS, t.MATCH_INPUT)
        ),
        relays={
            t.changelog_topic(settings, t.RECORDS_TABLE): outbox_publishes(settings, b"r:"),
            t.changelog_topic(settings, t.GROUPS_TABLE): outbox_publishes(settings, b"g:"),
        },
        on_caught_up=close_windows,
    )
