"""A deliberately plain, from-scratch claims computation to check the engine against.

Given every record in arrival order (sales, agreements, claim headers, lines and analyst
decisions), it
computes each claim version's final status, its open exceptions and its settled total
straight from the rules of docs/domain.md §10, with none of the engine's state, indexes or
incremental re-evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from streams.domain.accrual.reference import reference_totals
from streams.domain.claims.approvals import RULINGS, Action, ClaimDecision, at_text
from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.rules import ClaimExceptionKind as K
from streams.domain.claims.rules import ClaimStatus, Tolerances
from streams.domain.models.periods import period_bounds, period_of
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement

Record = SaleLine | Agreement | ClaimHeader | ClaimLine | ClaimDecision
Version = tuple[str, int]


@dataclass
class ClaimsReference:
    status: dict[Version, ClaimStatus] = field(default_factory=dict)
    # open exceptions: (kind, claim, version, sale key or '')
    exceptions: set[tuple[str, str, int, str]] = field(default_factory=set)
    settled: dict[Version, Decimal] = field(default_factory=dict)


def reference_claims(records: Iterable[Record], tolerances: Tolerances) -> ClaimsReference:
    arrivals = list(records)
    accrual_side = [r for r in arrivals if isinstance(r, SaleLine | Agreement)]
    totals = reference_totals(accrual_side)
    sales: dict[str, SaleLine] = {}
    agreements: dict[str, Agreement] = {}
    seen: set[str] = set()
    for r in accrual_side:  # the same first-copy and last-version rules as the ledger
        if isinstance(r, Agreement):
            known = agreements.get(r.agreement_id)
            if (known is not None and known.vendor_id != r.vendor_id) or r.idempotency_key in seen:
                continue
            seen.add(r.idempotency_key)
            agreements[r.agreement_id] = r
        elif r.idempotency_key not in sales:
            sales[r.idempotency_key] = r
    headers: dict[Version, ClaimHeader] = {}
    lines: dict[Version, dict[str, ClaimLine]] = {}
    current: dict[str, int] = {}
    decisions: dict[Version, ClaimDecision] = {}  # the latest of each version
    for rec in arrivals:
        if isinstance(rec, ClaimDecision):
            ver = (rec.claim_id, rec.version)
            latest = decisions.get(ver)
            rank = (at_text(rec.decided_at), rec.idempotency_key)
            if latest is None or rank > (at_text(latest.decided_at), latest.idempotency_key):
                decisions[ver] = rec
            continue
        if isinstance(rec, ClaimHeader):
            headers.setdefault((rec.claim_id, rec.version), rec)
        elif isinstance(rec, ClaimLine):
            lines.setdefault((rec.claim_id, rec.version), {}).setdefault(rec.sale_key, rec)
        else:
            continue
        current[rec.claim_id] = max(current.get(rec.claim_id, 0), rec.version)
    versions = sorted({*headers, *lines, *decisions})

    def agreement_of(ver: Version) -> Agreement | None:
        header = headers.get(ver)
        if header is None:
            return None
        agr = agreements.get(header.agreement_id)
        return agr if agr is not None and agr.vendor_id == header.vendor_id else None

    # Sale and coverage checks, and so the claimers of each sale.
    kinds: dict[Version, dict[str, str]] = {}
    claimers: dict[str, list[str]] = {}
    for ver in versions:
        header, agr = headers.get(ver), agreement_of(ver)
        kinds[ver] = {}
        for key, line in lines.get(ver, {}).items():
            sale = sales.get(key)
            if sale is None or sale.sku != line.sku or sale.day != line.sold_on:
                kinds[ver][key] = K.UNKNOWN_SALE
            elif (
                header is None
                or agr is None
                or not agr.covers(sale.sku, sale.day)
                or period_of(sale.day, agr.period) != header.period
            ):
                kinds[ver][key] = K.NOT_COVERED
            else:
                kinds[ver][key] = ""
                if current[ver[0]] == ver[1]:
                    claimers.setdefault(key, []).append(ver[0])
    result = ClaimsReference()
    for ver in versions:
        header, agr = headers.get(ver), agreement_of(ver)
        decision = decisions.get(ver)
        approval = decision if decision is not None and decision.record in RULINGS else None
        approval_refused = (K.APPROVAL_INVALID.value, ver[0], ver[1], "")
        superseded = current.get(ver[0], ver[1]) > ver[1]
        if superseded:
            result.status[ver] = ClaimStatus.SUPERSEDED
            result.settled[ver] = Decimal(0)
            if approval is not None:
                result.exceptions.add(approval_refused)
            continue
        mine = kinds[ver]
        for key in mine:
            if not mine[key] and min(claimers[key]) != ver[0]:
                mine[key] = K.DOUBLE_CLAIMED
        if header is not None and agr is not None:
            first, last = period_bounds(header.period, agr.start_date, agr.end_date)
            used: dict[str, int] = {}
            for key in sorted(
                (k for k in mine if not mine[k]), key=lambda k: lines[ver][k].sort_key
            ):
                line, sale = lines[ver][key], sales[key]
                if line.qty > sale.qty:
                    mine[key] = K.OVER_QUANTITY
                    continue
                net = sum(
                    s.qty
                    for s in sales.values()
                    if s.vendor_id == header.vendor_id
                    and s.sku == line.sku
                    and first <= s.day <= last
                )
                if used.get(line.sku, 0) + line.qty > net:
                    mine[key] = K.OVER_QUANTITY
                else:
                    used[line.sku] = used.get(line.sku, 0) + line.qty
        received = len(lines.get(ver, {}))
        if header is None or received < header.line_count:
            result.status[ver] = ClaimStatus.INCOMPLETE
            result.settled[ver] = Decimal(0)
            if approval is not None:
                result.exceptions.add(approval_refused)
            continue
        accrued = Decimal(0)
        if agr is not None:
            accrued = totals.get((header.agreement_id, header.period, header.currency), accrued)
        within = tolerances.within(header.claimed_amount, accrued)
        failing = [k for k, kind in mine.items() if kind]
        disputed = not within or bool(failing) or received > header.line_count
        result.status[ver] = ClaimStatus.DISPUTED if disputed else ClaimStatus.MATCHED
        result.settled[ver] = Decimal(0) if disputed else header.claimed_amount
        for key in failing:
            result.exceptions.add((str(mine[key]), ver[0], ver[1], key))
        if not within or received > header.line_count:
            result.exceptions.add((K.DISPUTE.value, ver[0], ver[1], ""))
        if approval is None:
            continue
        # A ruling changes the status and what settles, never the exceptions above.
        if approval.vendor_id != header.vendor_id:
            result.exceptions.add(approval_refused)
        elif approval.record is Action.REJECT:
            result.status[ver] = ClaimStatus.REJECTED
            result.settled[ver] = Decimal(0)
        else:
            double = sum(1 for k in failing if mine[k] == K.DOUBLE_CLAIMED)
            amount = approval.amount if approval.amount is not None else header.claimed_amount
            if double or amount > header.claimed_amount:
                result.exceptions.add(approval_refused)
            else:
                result.status[ver] = ClaimStatus.APPROVED
                result.settled[ver] = amount
    return result
