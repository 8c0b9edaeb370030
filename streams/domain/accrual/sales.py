"""Many raw POS lines at once: each validated (the fast path, else the model), then all
valid sales applied by the engine in one call. What the worker does with a chunk of POS
lines, and what the bare-computation benchmark times."""

from __future__ import annotations

from typing import Protocol

from streams.domain.accrual.engine import RebateEngine, SaleIn
from streams.domain.accrual.postings import RecordRef
from streams.domain.models.outcome import Outcome
from streams.domain.models.parsing import to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.pos_fast import FastSales
from streams.errors import RecordError

# Per line: its outcome and idempotency key, or why it is refused.
LineResult = tuple[Outcome, str] | RecordError


class Lines(Protocol):
    """Raw lines of one file and one source partition (``streams.formats.chunks.Chunk``)."""

    records: list[bytes]

    def record_id(self, i: int) -> str: ...

    def position(self, i: int) -> int: ...

    def what(self, i: int) -> str: ...

    def ref(self, i: int) -> RecordRef: ...


class SalesLines:
    def __init__(self, engine: RebateEngine) -> None:
        self.engine = engine
        self._fast: dict[tuple[str, ...], FastSales] = {}  # one per column layout

    def apply(self, columns: list[str], lines: Lines) -> list[LineResult]:
        layout = tuple(columns)
        fast = self._fast.get(layout)
        if fast is None:
            fast = self._fast[layout] = FastSales(columns)
        results: list[LineResult | None] = [None] * len(lines.records)
        sales: list[SaleIn] = []
        slots: list[int] = []
        for i, raw in enumerate(lines.records):
            facts = fast.parse(raw)
            if facts is None:
                try:
                    facts = to_model(SaleLine, columns, raw, lines.what(i)).facts()
                except RecordError as err:
                    results[i] = err
                    continue
            sales.append((facts, lines.record_id(i), lines.position(i)))
            slots.append(i)
        outcomes = self.engine.apply_sales(sales, lambda k: lines.ref(slots[k]))
        for k, outcome in enumerate(outcomes):
            results[slots[k]] = (
                outcome
                if isinstance(outcome, RecordError)
                else (outcome, sales[k][0].idempotency_key)
            )
        return [r for r in results if r is not None]
