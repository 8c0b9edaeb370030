"""Freight rate rows: ``raw.rates`` in, the carriers' rate tables in the three-way state
out, and the current version of each row on the compacted ``rates`` topic (master data).

A row is keyed by its carrier (``210:<SCAC>``), the key of the carrier's 210s, so it is
applied in the partition that holds the bills it re-rates (docs/threeway.md "Rate audit").
"""

from __future__ import annotations

from faust.types import TopicT

from streams.domain.models.outcome import Outcome
from streams.domain.models.parsing import to_model
from streams.domain.models.rates import RateRow
from streams.domain.threeway.engine import ThreeWayEngine
from streams.formats import avro
from streams.formats.records import Source
from streams.observability.metrics import Metrics
from streams.runtime.decisions import Decision, Send
from streams.runtime.sequence import RecordProcessor

RATE_FIELDS = tuple(RateRow.model_fields)


class RatesProcessor(RecordProcessor):
    def __init__(
        self,
        engine: ThreeWayEngine,
        outcomes: TopicT,
        dlq: TopicT,
        rates: TopicT,
        metrics: Metrics,
    ) -> None:
        super().__init__(outcomes, dlq, metrics)
        self.engine = engine
        self.rates = rates

    def decide(self, src: Source) -> Decision:
        row = to_model(RateRow, self.columns(src), src.value, self.what(src))
        idem = row.idempotency_key
        outcome = self.engine.apply_rate(
            row.scac, row.rate_key, row.version(), idem, src.correlation_id, src.timestamp
        )
        decision = Decision(outcome, idem)
        if outcome is Outcome.APPLIED:  # master data: publish the row's current version
            record = dict.fromkeys(RATE_FIELDS) | row.state()
            value = avro.encode(
                "rate_row", record | {"rate_key": row.rate_key, "version_key": idem}
            )
            key = f"{row.scac}:{row.rate_key}".encode()
            decision.sends.append(Send(self.rates, key, value, "rate_row"))
        return decision
