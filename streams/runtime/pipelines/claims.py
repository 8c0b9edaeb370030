"""The claims agent of the rebates pipeline: claim headers and lines in, claim results,
exceptions and settlements out through the state outbox (docs/claims.md, "Runtime").

It runs the ``ClaimsEngine`` on the rebate engine's own write-behind state, so a claim
reads the accruals of its partition with no copy. What makes a claim change is only
*marked* where it happens (the sales agent marks the claims of each agreement it posted
to, after its flush: one lookup per posting, none per sale); every evaluation runs here,
in this agent's batches and on its ticks, under an event of the partition it belongs to.
A tick sweeps the partition's claims when a sweep is due (``claims_sweep_seconds``) or at
the end of a drain; otherwise it evaluates what was marked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import faust
from faust.streams import current_event
from faust.types import TopicT

from streams.domain.accrual.postings import Posting
from streams.domain.claims import outbox, store
from streams.domain.claims.approvals import ClaimDecision
from streams.domain.claims.engine import ClaimsEngine
from streams.domain.claims.facts import RebateStateFacts
from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.results import ClaimResult
from streams.domain.claims.rules import ClaimStatus, Tolerances
from streams.domain.claims.store import SEP
from streams.domain.matching.messages import Tick
from streams.domain.models.outcome import Outcome
from streams.errors import RecordError
from streams.formats import ticks
from streams.formats.chunks import Chunk
from streams.formats.claims import parse_claim_row
from streams.formats.claims_x12_source import CLAIMS_X12_FORMAT
from streams.formats.records import Source
from streams.formats.x12.claims import LineVerdict, write_849
from streams.observability.metrics import Metrics
from streams.runtime.decisions import Decision
from streams.runtime.sequence import RecordProcessor
from streams.runtime.state.batch import BatchTableState
from streams.settings import Settings

log = logging.getLogger(__name__)
# the decided statuses an 849 answers (not incomplete, nor superseded)
ANSWERED = frozenset(
    {ClaimStatus.MATCHED, ClaimStatus.DISPUTED, ClaimStatus.APPROVED, ClaimStatus.REJECTED}
)


def current_partition() -> int:
    event = current_event()
    if event is None:
        raise RuntimeError("claims state used outside of an event")
    partition: int = event.message.partition
    return partition


class ClaimEngines:
    """One claims engine per partition of the shared state: the versions an engine marks
    dirty live in its partition's table, so they are evaluated under one of its events."""

    def __init__(self, state: BatchTableState, tolerances: Tolerances) -> None:
        self.state = state
        self.facts = RebateStateFacts(state)
        self.tolerances = tolerances
        self._engines: dict[int, ClaimsEngine] = {}
        self._swept: dict[int, float] = {}

    def of(self, partition: int) -> ClaimsEngine:
        engine = self._engines.get(partition)
        if engine is None:
            engine = self._engines[partition] = ClaimsEngine(
                self.state, self.facts, self.tolerances
            )
        return engine

    def postings_made(self, postings: list[Posting]) -> None:
        """The sales or agreements agent posted these entries (under the event of their
        partition): mark the claims of each agreement posted to."""
        if not postings:
            return
        engine = self.of(current_partition())
        for agreement in {p.agreement_id for p in postings}:
            engine.accrual_changed(agreement)

    def agreement_changed(self, agreement_id: str) -> None:
        self.of(current_partition()).accrual_changed(agreement_id)

    def sweep_due(self, partition: int, every: float, final: bool) -> bool:
        now, last = time.monotonic(), self._swept.get(partition)
        if final or last is None or now - last >= every:  # the first tick after a start sweeps
            self._swept[partition] = now
            return True
        return False


class ClaimsProcessor(RecordProcessor):
    def __init__(
        self,
        engines: ClaimEngines,
        outcomes: TopicT,
        dlq: TopicT,
        metrics: Metrics,
        sweep_seconds: float,
        page_entries: int = outbox.PAGE_ENTRIES,
        part_bytes: int = outbox.RESPONSE_PART_BYTES,
    ) -> None:
        super().__init__(outcomes, dlq, metrics, engines.state.output)
        self.engines = engines
        self.state = engines.state
        self.sweep_seconds = sweep_seconds
        self.page_entries = page_entries
        self.part_bytes = part_bytes
        self._sweeping: set[int] = set()  # partitions whose next settle is a sweep

    def _row(self, src: Source) -> ClaimHeader | ClaimLine | ClaimDecision:
        return parse_claim_row(self.columns(src), src.value, self.what(src))

    def _header(self, engine: ClaimsEngine, row: ClaimHeader, src: Source) -> Decision:
        outcome = engine.apply_header(row, src.correlation_id, src.hop_traceparent)
        if outcome is Outcome.APPLIED and src.record_format == CLAIMS_X12_FORMAT:
            # it came as an 844: each decided result of the version is answered by an 849
            self.state.put(response_key(row.claim_id, row.version), {"849": True})
        return Decision(outcome, row.idempotency_key)

    def decide(self, src: Source) -> Decision:
        row = self._row(src)
        engine = self.engines.of(src.partition)
        if isinstance(row, ClaimHeader):
            return self._header(engine, row, src)
        if isinstance(row, ClaimDecision):
            return Decision(engine.apply_decision(row, src.correlation_id), row.idempotency_key)
        [outcome] = engine.apply_lines([(row, src.correlation_id)])
        return Decision(outcome, row.idempotency_key)

    def decide_chunk(self, chunk: Chunk) -> list[Decision | RecordError]:
        """Headers one by one; the chunk's valid lines in one engine call, so each version
        document and line bucket is written once per chunk."""
        results: list[Decision | RecordError | None] = []
        lines: list[tuple[int, ClaimLine, str]] = []
        engine = self.engines.of(chunk.src.partition)
        for i in range(len(chunk)):
            src = chunk.source(i)
            try:
                row = self._row(src)
            except RecordError as err:
                results.append(err)
                continue
            if isinstance(row, ClaimHeader):
                results.append(self._header(engine, row, src))
            elif isinstance(row, ClaimDecision):
                outcome = engine.apply_decision(row, src.correlation_id)
                results.append(Decision(outcome, row.idempotency_key))
            else:
                results.append(None)
                lines.append((i, row, src.correlation_id))
        outcomes = engine.apply_lines([(line, rid) for _, line, rid in lines])
        for (i, line, _), outcome in zip(lines, outcomes, strict=True):
            results[i] = Decision(outcome, line.idempotency_key)
        return [r for r in results if r is not None]

    def tick(self, src: Source, tick: Tick) -> None:
        if self.engines.sweep_due(src.partition, self.sweep_seconds, tick.final):
            self.engines.of(src.partition).sweep()
            self._sweeping.add(src.partition)

    def write_state(self) -> None:
        partition = current_partition()
        engine = self.engines.of(partition)
        # Between sweeps a version still waiting for lines is not evaluated: a large
        # claim would be re-read after every batch of its lines (ClaimsEngine.settle).
        sweep = partition in self._sweeping
        self._sweeping.discard(partition)
        out = engine.settle(hold_incomplete=not sweep)
        rows = outbox.outbox_entries(out)
        for r in out.results:
            if responses := self._responses(r):
                rows.setdefault(outbox.outbox_key(r.claim_id, r.version), []).extend(responses)
        written = outbox.stage(self.state, rows, self.page_entries)
        self.metrics.state_writes.labels(self.agent).inc(self.state.flush())
        if written:
            log.debug("claims: %d outbox entries", written)

    def _responses(self, r: ClaimResult) -> list[dict[str, Any]]:
        """The 849 answering a decided result of a version that came as an 844: one entry
        per transaction set (a large claim's answer is split, docs/claims.md "EDI 844 and
        849"), each to be sent as an interchange with a control number of its own."""
        if r.status not in ANSWERED:
            return []
        if self.state.get(response_key(r.claim_id, r.version)) is None:
            return []
        sold = store.lines_in_sale_order(self.state, r.claim_id, r.version)
        lines = [LineVerdict(*line) for line in sold]
        on = datetime.now(UTC).strftime("%Y%m%d")
        sets = write_849(r, lines, f"{r.seq:04d}", on, self.part_bytes)
        first = store.next_controls(self.state, r.vendor_id, len(sets))
        return outbox.response_docs(r, sets, first)


def response_key(claim_id: str, version: int) -> str:
    """Present when the claim version came as an 844 (so it is answered by 849s)."""
    return f"cr:{claim_id}{SEP}{version}"


def claim_ticks(
    app: faust.App, settings: Settings, topic: faust.TopicT
) -> Callable[[], Awaitable[None]]:
    """A tick to every partition of the claims topic every ``match_tick_seconds`` (what was
    marked gets evaluated, a sweep when due); returns the end-of-input hook, whose final
    ticks sweep every partition before a drain ends."""

    async def send(final: bool) -> None:
        value = ticks.encode(Tick(time.time_ns() // 1000, final))
        sent = [
            await topic.send(key=ticks.TICK_KEY, value=value, partition=p)
            for p in range(settings.partitions)
        ]
        for fut in sent:
            await fut

    async def periodic() -> None:
        await send(False)

    async def at_end() -> None:
        await send(True)

    app.timer(settings.match_tick_seconds, name="recon.claims-tick")(periodic)
    return at_end
