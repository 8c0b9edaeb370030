"""The rebate agents' per-record work: validate, dedupe, accrue, and publish the outcome.

Every record ends in exactly one outcome (applied, duplicate, dead_lettered), published
to the outcomes topic keyed by correlation id. Nothing escapes this function: an error
that is not a RecordError is a poison pill and is dead-lettered with a stack summary, so
the partition keeps moving (an exception inside a Faust agent would kill the agent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from faust.types import TopicT

from streams.accrual.engine import Outcome, RebateEngine, RecordRef, Result
from streams.agents.outputs import (
    Source,
    agreement_record,
    describe_unexpected,
    dlq_record,
    outcome_record,
)
from streams.errors import Category, RecordError, Stage
from streams.ingest import headers as h
from streams.models.parsing import parse_columns, to_model
from streams.models.pos import SaleLine
from streams.models.promotion import Agreement

log = logging.getLogger(__name__)

RecordKind = Literal["pos", "promotions"]


@dataclass(frozen=True)
class OutputTopics:
    outcomes: TopicT
    dlq: TopicT
    agreements: TopicT


class RebateProcessor:
    def __init__(self, engine: RebateEngine, outputs: OutputTopics) -> None:
        self.engine = engine
        self.outputs = outputs
        self._columns: dict[str, list[str]] = {}

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

    def apply(self, src: Source, kind: RecordKind) -> Result:
        """Synchronous on purpose: no await may split a read-modify-write of the state."""
        ref = RecordRef(src.correlation_id, src.offset, src.source_file, src.line)
        columns = self.columns(src)
        if kind == "pos":
            return self.engine.apply_sale(
                to_model(SaleLine, columns, src.value, self.what(src)), ref
            )
        agreement = to_model(Agreement, columns, src.value, self.what(src))
        return self.engine.apply_agreement(agreement, ref)

    async def handle(self, src: Source, kind: RecordKind) -> Outcome:
        try:
            result = self.apply(src, kind)
        except RecordError as err:
            await self._dead_letter(src, err)
            return Outcome.DEAD_LETTERED
        except Exception as exc:  # poison pill: never let it kill the agent
            log.exception("unexpected error on %s", self.what(src))
            pill = RecordError(Category.PROCESSING_ERROR, Stage.COMPUTE, describe_unexpected(exc))
            await self._dead_letter(src, pill)
            return Outcome.DEAD_LETTERED
        if result.agreement is not None:
            await self.outputs.agreements.send(
                key=result.agreement.agreement_id.encode(),
                value=agreement_record(result.agreement, result.idempotency_key),
                headers=src.trace_headers("agreement"),
            )
        await self._outcome(src, result.outcome, result.idempotency_key)
        return result.outcome

    async def _dead_letter(self, src: Source, err: RecordError) -> None:
        dlq_id, payload = dlq_record(src, err)
        log.warning(
            "dead-lettered [%s] %s",
            err.category.value,
            err,
            extra={"correlation_id": src.correlation_id, "category": err.category.value},
        )
        await self.outputs.dlq.send(
            key=src.correlation_id.encode(),
            value=payload,
            headers=[*src.trace_headers("dlq_record"), ("recon-dlq-id", dlq_id.encode())],
        )
        await self._outcome(src, Outcome.DEAD_LETTERED, None)

    async def _outcome(self, src: Source, outcome: Outcome, idem: str | None) -> None:
        await self.outputs.outcomes.send(
            key=src.correlation_id.encode(),
            value=outcome_record(src, outcome, idem),
            headers=src.trace_headers("outcome"),
        )
