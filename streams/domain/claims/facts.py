"""What claims are checked against, read from the rebate engine's state (docs/claims.md).

The rebate engine already keeps every fact a claim needs, under the vendor's partition:
the dedupe mark of each applied sale (its day, SKU and quantity), the (vendor, SKU, day)
net units, the agreement in force and the posted total of each (agreement, period). The
claims engine reads them through ``AccrualFacts``; nothing is added to the sale path but
two fields in the mark it already writes.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from decimal import Decimal
from typing import NamedTuple, Protocol

from streams.domain.accrual import keys
from streams.domain.accrual.horizon import MARK_DAY, MARK_QTY, MARK_SKU
from streams.domain.models.promotion import Agreement
from streams.domain.state import KeyValueState


class SaleFact(NamedTuple):
    sku: str
    day: date
    qty: int


class AccrualFacts(Protocol):
    def sale(self, key: str) -> SaleFact | None:
        """The applied sale with this idempotency key, or None."""
        ...

    def agreement(self, agreement_id: str) -> Agreement | None:
        """The agreement version in force."""
        ...

    def accrued(self, agreement_id: str, period: str) -> tuple[Decimal, str]:
        """The posted total of (agreement, period) and its currency ('' if none)."""
        ...

    def net_units(self, vendor: str, sku: str, first: date, last: date) -> int:
        """Units sold net of returns of a vendor's SKU over the days ``[first, last]``."""
        ...


class RebateStateFacts:
    """``AccrualFacts`` over the rebate engine's key layout (``accrual/keys.py``)."""

    def __init__(self, state: KeyValueState) -> None:
        self.state = state
        self._agreements: dict[str, tuple[str, Agreement]] = {}

    def sale(self, key: str) -> SaleFact | None:
        mark = self.state.get(keys.dedupe_key(key))
        if mark is None or MARK_SKU not in mark or MARK_DAY not in mark:
            return None  # no sale, or a mark written before sales kept their facts
        return SaleFact(mark[MARK_SKU], date.fromisoformat(mark[MARK_DAY]), mark[MARK_QTY])

    def agreement(self, agreement_id: str) -> Agreement | None:
        doc = self.state.get(keys.agreement_key(agreement_id))
        if doc is None:
            return None
        cached = self._agreements.get(agreement_id)
        if cached is not None and cached[0] == doc["key"]:
            return cached[1]
        agr = Agreement.model_validate(doc["terms"])
        self._agreements[agreement_id] = (doc["key"], agr)
        return agr

    def accrued(self, agreement_id: str, period: str) -> tuple[Decimal, str]:
        row = self.state.get(keys.posting_key(agreement_id, period))
        if row is None:
            return Decimal(0), ""
        return Decimal(row["posted"]), row["cur"]

    def net_units(self, vendor: str, sku: str, first: date, last: date) -> int:
        lo, hi = first.isoformat(), last.isoformat()
        total = 0
        for month in keys.months(lo, hi):
            days = (self.state.get(keys.days_key(vendor, sku, month)) or {"days": []})["days"]
            for day in days[bisect_left(days, lo) : bisect_right(days, hi)]:
                cell = self.state.get(keys.cell_key(vendor, sku, day))
                if cell is not None:
                    total += int(cell["u"])
        return total
