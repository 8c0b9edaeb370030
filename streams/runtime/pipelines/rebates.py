"""The rebate pipeline: POS sales, promotion agreements and vendor claims in; ledger entries,
claim results, exceptions and 849s out (the claims agent: ``pipelines/claims.py``)."""

from __future__ import annotations

import logging

import faust
from faust.types import TopicT

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.horizon import horizon_of
from streams.domain.accrual.postings import merge_outbox
from streams.domain.accrual.sales import SalesLines
from streams.domain.claims.store import write_rank
from streams.domain.models.parsing import to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.errors import RecordError
from streams.formats.chunks import Chunk
from streams.formats.claims import tolerances
from streams.formats.records import Source, agreement_record, record_ref
from streams.kafka import topics as t
from streams.kafka.direct import DirectOutput
from streams.observability.metrics import Metrics
from streams.relay.claims import claims_publishes
from streams.relay.ledger import ledger_publishes
from streams.runtime.agents import attach
from streams.runtime.decisions import Decision, Send
from streams.runtime.pipeline import Pipeline, raw_topic, state_table
from streams.runtime.pipelines.claims import ClaimEngines, ClaimsProcessor, claim_ticks
from streams.runtime.sequence import RecordProcessor
from streams.runtime.state.batch import BatchTableState
from streams.runtime.state.dedupe_purge import purger
from streams.settings import Settings

log = logging.getLogger(__name__)


class RebateProcessor(RecordProcessor):
    """The engine runs on write-behind state, flushed once per batch and partition."""

    def __init__(
        self,
        engine: RebateEngine,
        state: BatchTableState,
        outcomes: TopicT,
        dlq: TopicT,
        metrics: Metrics,
        claims: ClaimEngines | None = None,
    ) -> None:
        super().__init__(outcomes, dlq, metrics, state.output)
        self.engine = engine
        self.state = state
        self.lines = SalesLines(engine)
        self.claims = claims

    def write_state(self) -> None:
        # One posting per (agreement, period) the batch's sales touched, in the same
        # write-behind flush as the aggregates it was computed from.
        postings = self.engine.settle()
        if self.claims is not None:  # one mark per agreement posted to, none per sale
            self.claims.postings_made(postings)
        written = self.state.flush()
        self.metrics.state_writes.labels(self.agent).inc(written)


class SalesProcessor(RebateProcessor):
    def decide(self, src: Source) -> Decision:
        sale = to_model(SaleLine, self.columns(src), src.value, self.what(src))
        result = self.engine.apply_sale(sale, record_ref(src))
        return Decision(result.outcome, result.idempotency_key)

    def decide_chunk(self, chunk: Chunk) -> list[Decision | RecordError]:
        """Every line through the fast validation path (the model for the rest), then all
        of the chunk's valid sales through the engine in one call. Should that raise
        unexpectedly, the lines are decided one by one, so a poison pill costs its own
        line only (what the failed call claimed or folded, a retry recognises)."""
        try:
            results = self.lines.apply(self.columns(chunk.src), chunk)
        except RecordError:
            raise
        except Exception:
            log.exception("unexpected error on %s: deciding its lines one by one",
                          self.what(chunk.src))  # fmt: skip
            return super().decide_chunk(chunk)
        return [r if isinstance(r, RecordError) else Decision(r[0], r[1]) for r in results]


class AgreementsProcessor(RebateProcessor):
    def __init__(
        self,
        engine: RebateEngine,
        state: BatchTableState,
        outcomes: TopicT,
        dlq: TopicT,
        agreements: TopicT,
        metrics: Metrics,
        claims: ClaimEngines | None = None,
    ) -> None:
        super().__init__(engine, state, outcomes, dlq, metrics, claims)
        self.agreements = agreements

    def decide(self, src: Source) -> Decision:
        agreement = to_model(Agreement, self.columns(src), src.value, self.what(src))
        result = self.engine.apply_agreement(agreement, record_ref(src))
        decision = Decision(result.outcome, result.idempotency_key)
        if self.claims is not None and result.agreement is not None:
            self.claims.agreement_changed(result.agreement.agreement_id)
        if result.agreement is not None:  # master data changed: publish the current version
            decision.sends.append(
                Send(
                    self.agreements,
                    result.agreement.agreement_id.encode(),
                    agreement_record(result.agreement, result.idempotency_key),
                    "agreement",
                )
            )
        return decision


def register(app: faust.App, settings: Settings, metrics: Metrics) -> Pipeline:
    state = state_table(app, settings, t.STATE_TABLE)
    horizon = horizon_of(settings.dedupe_horizon_days)
    batch_state = BatchTableState(state, merge_outbox, write_rank, DirectOutput(settings, metrics))
    engine = RebateEngine(batch_state, horizon)
    claims = ClaimEngines(batch_state, tolerances(settings))
    outcomes, dlq = raw_topic(app, settings, t.OUTCOMES), raw_topic(app, settings, t.DLQ)
    # Both raw topics are keyed by vendor and co-partitioned, so a vendor's sales and its
    # agreements meet in the same table partition.
    pos, promotions = (
        raw_topic(app, settings, t.RAW_POS),
        raw_topic(app, settings, t.RAW_PROMOTIONS),
    )
    attach(
        app,
        settings,
        pos,
        SalesProcessor(engine, batch_state, outcomes, dlq, metrics, claims),
        "recon.pos",
    )
    attach(
        app,
        settings,
        promotions,
        AgreementsProcessor(
            engine,
            batch_state,
            outcomes,
            dlq,
            raw_topic(app, settings, t.AGREEMENTS),
            metrics,
            claims,
        ),
        "recon.promotions",
    )
    # Claims are keyed by vendor too: a claim meets the accruals of its agreement.
    claim_records = raw_topic(app, settings, t.RAW_CLAIMS)
    attach(
        app,
        settings,
        claim_records,
        ClaimsProcessor(
            claims,
            outcomes,
            dlq,
            metrics,
            settings.claims_sweep_seconds,
            settings.claims_outbox_page_entries,
            settings.claims_849_part_bytes,
        ),
        "recon.claims",
    )
    sweep = claim_ticks(app, settings, claim_records)
    purge = None
    if horizon is not None:
        # Periodically for a long-running worker; once at the end of input for a drain run,
        # which would otherwise never live long enough to purge.
        purge = purger(app, state, horizon, metrics)
        app.timer(settings.dedupe_purge_interval_seconds, name="recon.dedupe-purge")(purge)

    async def caught_up() -> None:
        if purge is not None:
            await purge()
        await sweep()

    ledger = ledger_publishes(settings, metrics)
    claim_outputs = claims_publishes(settings)
    return Pipeline(
        name="rebates",
        source_topics=(
            settings.topic(t.RAW_POS),
            settings.topic(t.RAW_PROMOTIONS),
            settings.topic(t.RAW_CLAIMS),
        ),
        relays={
            t.changelog_topic(settings, t.STATE_TABLE): lambda msg: [
                *ledger(msg),
                *claim_outputs(msg),
            ]
        },
        on_caught_up=caught_up,
    )
