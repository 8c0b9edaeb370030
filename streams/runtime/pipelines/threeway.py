"""The three-way pipeline: X12 documents in, document matches and exceptions out.

1. ``recon.edi`` routes ``raw.edi`` (keyed by PO number, as ingested): 810s and 210s by
   business identity to ``threeway.identity``, where ``recon.edi-identity`` decides their
   outcome and forwards the original of each identity (identity.py); the other sets to
   ``threeway.input`` untouched: that topic also carries the window ticks, which must not
   pollute the raw topic (replays, audits).
2. ``recon.threeway`` runs each set through the RecordProcessor frame (outcome, DLQ,
   dedupe) and the ThreeWayEngine over the ``threeway-orders`` table; rows carry the
   result events, which the outbox relay publishes to ``matches`` and ``exceptions``.
   An 856 of several POs is applied to its first PO's order, and its part of each other
   PO is sent back to ``threeway.input`` keyed by that PO (an internal ``edi_part``
   message: the set's outcome is decided once, here).
3. ``recon.rates`` applies freight rate rows (``raw.rates``, keyed by carrier like the
   carrier's 210s) to the same table, re-rating the carrier's bills (rates.py).
"""

from __future__ import annotations

import json
from typing import Any

import faust
from faust.types import TopicT

from streams.domain.matching.messages import Tick
from streams.domain.models.edi import (
    FreightInvoice,
    Invoice,
    PurchaseOrder,
    PurchaseOrderChange,
    ShipNotice,
)
from streams.domain.models.outcome import Outcome
from streams.domain.threeway.engine import ThreeWayConfig, ThreeWayEngine
from streams.domain.threeway.identities import IdentityBook
from streams.domain.threeway.rules import PriceTolerance
from streams.domain.threeway.summary import part_key, split_parts, summarize
from streams.errors import Category, RecordError, Stage
from streams.formats import avro
from streams.formats.records import Source
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.relay.matching import outbox_publishes
from streams.relay.threeway import publish_of
from streams.runtime.agents import attach
from streams.runtime.decisions import Decision, Revision, Send
from streams.runtime.pipeline import Pipeline, raw_topic, state_table, window_ticks
from streams.runtime.pipelines.identity import (
    ACCEPTED,
    RETRACT,
    EdiRecordProcessor,
    EdiRoute,
    IdentityProcessor,
)
from streams.runtime.pipelines.matching import ingested_micros
from streams.runtime.pipelines.rates import RatesProcessor
from streams.runtime.state.table import TableState
from streams.settings import Settings

MODELS: dict[str, Any] = {
    "850": PurchaseOrder,
    "860": PurchaseOrderChange,
    "856": ShipNotice,
    "810": Invoice,
    "210": FreightInvoice,
}


PART = "edi_part"  # recon-schema of an 856's part for another of its POs


def config_of(settings: Settings) -> ThreeWayConfig:
    return ThreeWayConfig(
        PriceTolerance(
            settings.threeway_price_tolerance_amount, settings.threeway_price_tolerance_percent
        ),
        window_micros=round(settings.threeway_window_seconds * 1_000_000),
        near_duplicate_days=settings.duplicate_near_days,
        rate_tolerance=settings.freight_rate_tolerance,
        require_rate_table=settings.freight_require_rate_table,
    )


class ThreeWayProcessor(EdiRecordProcessor):
    def __init__(
        self,
        engine: ThreeWayEngine,
        outcomes: TopicT,
        dlq: TopicT,
        metrics: Metrics,
        into: TopicT | None = None,
    ) -> None:
        super().__init__(outcomes, dlq, metrics)
        self.engine = engine
        self.into = into  # where the parts of a multi-PO 856 go

    def decide(self, src: Source) -> Decision:
        schema = src.headers.get(avro.SCHEMA_HEADER)
        if schema == RETRACT:  # a copy displaced by its original (identity.py)
            gone = json.loads(src.value)
            self.engine.retract(gone["key"], gone["idem"], src.timestamp)
            return Decision(None)
        try:
            record = avro.decode("edi_document", src.value)
        except Exception as exc:  # not ours, or truncated: the bytes are kept in the DLQ
            raise RecordError(
                Category.PARSE_ERROR,
                Stage.PARSE,
                f"{self.what(src)}: not an edi_document record ({exc})",
            ) from exc
        error = record["error"]
        if error is not None:  # a broken envelope or set, flagged by ingest
            raise RecordError(
                Category(error["category"]),
                Stage.PARSE if error["category"] == Category.PARSE_ERROR else Stage.VALIDATE,
                f"{self.what(src)}: broken {error['scope']}: {error['message']}",
                field=error["element"] or error["segment_id"],
            )
        idem = record["idempotency_key"]
        model = MODELS.get(record["set_id"] or "")
        if model is None or record["routing_key"] is None:
            # A well-formed set of a type the match does not read (997...): applied, inert.
            return Decision(self.engine.seen(idem, src.correlation_id), idem)
        doc = model.model_validate(json.loads(record["document"]))
        part = schema == PART
        po = record["routing_key"] if part else None
        summary = summarize(doc, record["sender"] or "", record["receiver"] or "", po)
        assert summary is not None  # every MODELS type summarizes
        outcome = self.engine.apply(
            summary,
            record["routing_key"],
            idem,
            src.correlation_id,
            src.partition,
            ingested_micros(src) or src.timestamp,
            src.timestamp,
            src.hop_traceparent,
        )
        reused = schema == ACCEPTED and outcome is Outcome.DUPLICATE
        if reused and not self.engine.displaced(record["routing_key"], idem):
            # Its envelope key is another document's (the partner reused ISA13, GS06 and
            # ST02): a transport replay by the envelope rule (§1.2), and its outcome says so
            # rather than the identity stage's "applied".
            where = (src.source_file, src.file_sha256, src.line, src.record_format)
            revision = Revision(src.correlation_id, *where, Outcome.DUPLICATE, idem)
            return Decision(None, idem, revisions=[revision])
        if part or schema == ACCEPTED:  # its outcome was decided with its first PO, or
            return Decision(None, idem)  # by its identity (identity.py)
        decision = Decision(outcome, idem)
        if outcome is Outcome.APPLIED and self.into is not None:
            for other in split_parts(doc):
                value = avro.encode(
                    "edi_document",
                    {**record, "routing_key": other, "idempotency_key": part_key(idem, other)},
                )
                decision.sends.append(Send(self.into, other.encode(), value, PART))
        return decision

    def tick(self, src: Source, tick: Tick) -> None:
        self.engine.tick(src.partition, tick.now, tick.final)


def register(app: faust.App, settings: Settings, metrics: Metrics) -> Pipeline:
    outcomes, dlq = raw_topic(app, settings, t.OUTCOMES), raw_topic(app, settings, t.DLQ)
    raw_edi, into = raw_topic(app, settings, t.RAW_EDI), raw_topic(app, settings, t.THREEWAY_INPUT)
    identities = raw_topic(app, settings, t.THREEWAY_IDENTITY)
    route = EdiRoute(identities, into, outcomes, dlq, metrics)
    attach(app, settings, raw_edi, route, "recon.edi", one_at_a_time=True)
    book = IdentityBook(TableState(state_table(app, settings, t.IDENTITY_TABLE)))
    decide_identity = IdentityProcessor(book, into, outcomes, dlq, metrics)
    attach(app, settings, identities, decide_identity, "recon.edi-identity", one_at_a_time=True)
    table = state_table(app, settings, t.THREEWAY_TABLE)
    engine = ThreeWayEngine(TableState(table), config_of(settings))
    processor = ThreeWayProcessor(engine, outcomes, dlq, metrics, into)
    attach(app, settings, into, processor, "recon.threeway", one_at_a_time=True)
    raw_rates, rates = raw_topic(app, settings, t.RAW_RATES), raw_topic(app, settings, t.RATES)
    rates_processor = RatesProcessor(engine, outcomes, dlq, rates, metrics)
    attach(app, settings, raw_rates, rates_processor, "recon.rates", one_at_a_time=True)

    close_windows = window_ticks(app, settings, into, "recon.threeway-tick")
    return Pipeline(
        name="threeway",
        source_topics=(
            settings.topic(t.RAW_EDI),
            settings.topic(t.THREEWAY_IDENTITY),
            settings.topic(t.THREEWAY_INPUT),
            settings.topic(t.RAW_RATES),
        ),
        relays={
            t.changelog_topic(settings, t.THREEWAY_TABLE): outbox_publishes(
                settings, b"o:", publish_of
            ),
            t.changelog_topic(settings, t.IDENTITY_TABLE): outbox_publishes(
                settings, b"i:", publish_of
            ),
        },
        on_caught_up=close_windows,
    )
