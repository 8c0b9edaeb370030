"""A deliberately plain, non-incremental accrual computation to check the engine against.

Used by the property tests, the integration tests, the demo's self-check and the
benchmark's totals check: recompute every (agreement, period) from the final facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from streams.domain.models.periods import period_of, periods_in_window
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement, Basis
from streams.domain.models.tiers import target

TotalKey = tuple[str, str, str]  # agreement_id, period, currency


def reference_totals(arrivals: Iterable[SaleLine | Agreement]) -> dict[TotalKey, Decimal]:
    """Expected ledger total per (agreement, period, currency), zero totals omitted.

    Arrival order matters only as the engine's rules say: the first copy of an
    idempotency key wins, and the last distinct version of an agreement is in force
    (an amendment that tries to move an agreement to another vendor is rejected).
    """
    seen: set[str] = set()
    sales: list[SaleLine] = []
    agreements: dict[str, Agreement] = {}
    for record in arrivals:
        if isinstance(record, Agreement):
            current = agreements.get(record.agreement_id)
            if current is not None and current.vendor_id != record.vendor_id:
                continue
        key = record.idempotency_key
        if key in seen:
            continue
        seen.add(key)
        if isinstance(record, Agreement):
            agreements[record.agreement_id] = record
        else:
            sales.append(record)
    totals: dict[TotalKey, Decimal] = {}
    for agr in agreements.values():
        measures = {
            label: Decimal(0)
            for label in periods_in_window(agr.start_date, agr.end_date, agr.period)
        }
        for sale in sales:
            if sale.vendor_id != agr.vendor_id or not agr.covers(sale.sku, sale.day):
                continue
            if agr.basis is Basis.PER_UNIT:
                measures[period_of(sale.day, agr.period)] += sale.qty
            elif sale.currency == agr.currency:
                measures[period_of(sale.day, agr.period)] += sale.value
        for label, x in measures.items():
            amount = target(x, agr.tiers, agr.tier_method)
            if amount:
                totals[(agr.agreement_id, label, agr.currency)] = amount
    return totals
