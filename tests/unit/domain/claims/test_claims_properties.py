"""The claims engine against the plain reference: random sales, agreements (late and
amended), claims with versions, double claims, over-quantity and unknown lines, analyst
approvals and withdrawals (of unknown, superseded and disputed versions, amounts above the
claim), duplicates, all in any arrival order, with the accrual engine running alongside on
the same state."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.postings import RecordRef
from streams.domain.accrual.reference import reference_totals
from streams.domain.claims import store
from streams.domain.claims.approvals import Action, ClaimDecision
from streams.domain.claims.engine import ClaimsEngine
from streams.domain.claims.facts import RebateStateFacts
from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.reference import Record, reference_claims
from streams.domain.claims.results import ClaimsOutput
from streams.domain.claims.rules import ClaimStatus, Tolerances
from streams.domain.models.periods import period_of, periods_in_window
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.models.tiers import Tier
from streams.domain.state import DictState

pytestmark = pytest.mark.unit

VENDORS = ("V1", "V2")
SKUS = ("S1", "S2")
BASE = date(2026, 1, 1)
TOLERANCES = (
    Tolerances(),
    Tolerances(Decimal(0), Decimal(0), Decimal(0), Decimal(0)),
    Tolerances(Decimal(10**9), Decimal(10**6), Decimal(10**9), Decimal(10**6)),
)


@st.composite
def sales(draw: st.DrawFn) -> SaleLine:
    day = BASE + timedelta(days=draw(st.integers(0, 120)))
    return SaleLine(
        txn_id=f"T{draw(st.integers(0, 60))}",
        line_no=draw(st.integers(1, 2)),
        store_id="ST",
        sku=draw(st.sampled_from(SKUS)),
        vendor_id=draw(st.sampled_from(VENDORS)),
        qty=draw(st.integers(-8, 12)),
        unit_price=Decimal(draw(st.integers(0, 2_000))) / 100,
        currency="USD",
        sold_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
    )


@st.composite
def agreements(draw: st.DrawFn, agreement_id: str) -> Agreement:
    start = BASE + timedelta(days=draw(st.integers(0, 60)))
    thresholds = sorted(draw(st.sets(st.integers(0, 20), min_size=1, max_size=2)))
    return Agreement(
        agreement_id=agreement_id,
        vendor_id=VENDORS[int(agreement_id[1:]) % 2],
        skus=draw(st.sampled_from(((), ("S1",)))),
        start_date=start,
        end_date=start + timedelta(days=draw(st.integers(0, 90))),
        basis=draw(st.sampled_from(("per_unit", "percent"))),
        period=draw(st.sampled_from(("month", "quarter", "agreement"))),
        tier_method="retroactive",
        tiers=tuple(
            Tier(Decimal(t), Decimal(draw(st.integers(1, 200))) / 1000) for t in thresholds
        ),
        currency=draw(st.sampled_from(("USD", "USD", "USD", "EUR"))),
    )


@st.composite
def claim(
    draw: st.DrawFn,
    claim_id: str,
    version: int,
    pool: list[SaleLine],
    agrs: list[Agreement],
    totals: dict[tuple[str, str, str], Decimal],
) -> list[Record]:
    agr = draw(st.sampled_from(agrs))
    vendor = agr.vendor_id
    periods = periods_in_window(agr.start_date, agr.end_date, agr.period)
    busy = [
        period_of(s.day, agr.period)
        for s in pool
        if s.vendor_id == vendor and agr.covers(s.sku, s.day)
    ]
    period = draw(st.sampled_from(busy if busy and draw(st.integers(0, 3)) else periods))
    covered = [
        s
        for s in pool
        if s.vendor_id == vendor
        and agr.covers(s.sku, s.day)
        and period_of(s.day, agr.period) == period
    ]
    source = covered if covered and draw(st.integers(0, 4)) else pool
    chosen = draw(
        st.lists(st.sampled_from(source), max_size=6, unique_by=lambda s: s.idempotency_key)
    )
    greedy = covered and draw(st.integers(0, 2)) == 0
    if greedy:  # every covered sale at its full quantity: returns make the total too much
        chosen = list({s.idempotency_key: s for s in covered if s.qty > 0}.values())
    lines: list[Record] = []
    for sale in chosen:
        over = draw(st.integers(0, 4)) == 0
        lines.append(
            ClaimLine(
                claim_id=claim_id,
                version=version,
                vendor_id=vendor,
                txn_id=sale.txn_id,
                line_no=sale.line_no,
                sold_on=sale.day,
                sku="S9" if draw(st.integers(0, 12)) == 0 else sale.sku,
                qty=max(
                    1,
                    sale.qty
                    if greedy
                    else sale.qty + 3
                    if over
                    else sale.qty // draw(st.integers(1, 3)),
                ),
                amount=Decimal(draw(st.integers(0, 999))) / 100,
            )
        )
    if draw(st.integers(0, 5)) == 0:  # a line on a sale nobody made
        lines.append(
            ClaimLine(
                claim_id=claim_id,
                version=version,
                vendor_id=vendor,
                txn_id="NOPE",
                line_no=1,
                sold_on=BASE,
                sku="S1",
                qty=1,
                amount=Decimal("1.00"),
            )
        )
    accrued = totals.get((agr.agreement_id, period, agr.currency), Decimal(0))
    delta = Decimal(draw(st.sampled_from((0, 0, 1, -1, 250, -5_000)))) / 100
    header = ClaimHeader(
        claim_id=claim_id,
        version=version,
        agreement_id=agr.agreement_id,
        vendor_id=vendor,
        period=period,
        claimed_amount=max(Decimal(0), accrued + delta),
        currency=agr.currency,
        line_count=max(0, len(lines) + draw(st.sampled_from((0, 0, 0, 1, -1)))),
    )
    return [header, *lines]


CENT = Decimal("0.01")


@st.composite
def decisions(draw: st.DrawFn, claim_id: str, headers: dict[int, ClaimHeader]) -> ClaimDecision:
    """An approval, rejection or withdrawal of a version that may exist, be superseded or
    never come; an approval of the claimed amount, a cent below or above it, or another."""
    version = draw(st.sampled_from([*sorted(headers) * 3, 3]))  # 3: a version never sent
    known = headers.get(version)
    vendor = (
        known.vendor_id if known and draw(st.integers(0, 5)) else draw(st.sampled_from(VENDORS))
    )
    action = draw(st.sampled_from((Action.APPROVE, Action.APPROVE, Action.REJECT, Action.WITHDRAW)))
    amount = None
    if action is Action.APPROVE and draw(st.integers(0, 2)):
        claimed = known.claimed_amount if known else Decimal("10.00")
        half = (claimed / 2).quantize(CENT)
        amount = draw(st.sampled_from((claimed, claimed - CENT, claimed + CENT, half)))
        amount = amount if amount > 0 else None
    return ClaimDecision(
        record=action,
        claim_id=claim_id,
        version=version,
        vendor_id=vendor,
        amount=amount,
        decided_by=draw(st.sampled_from(("ana", "bo"))),
        reason="checked",
        decided_at=datetime(2026, 3, 1, 9, draw(st.integers(0, 2)), tzinfo=UTC),  # ties too
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Record], Tolerances, set[int]]:
    pool: list[SaleLine] = draw(st.lists(sales(), min_size=8, max_size=30))
    agrs: list[Agreement] = []
    for n in range(draw(st.integers(1, 3))):
        agrs += draw(st.lists(agreements(f"A{n}"), min_size=1, max_size=2))  # amendments
    base: list[Record] = [*pool, *agrs]
    totals = reference_totals([r for r in base if isinstance(r, SaleLine | Agreement)])
    records: list[Record] = list(base)
    for c in range(draw(st.integers(1, 4))):
        for version in range(1, draw(st.integers(1, 2)) + 1):
            records += draw(claim(f"C{c}", version, pool, agrs, totals))
        headers = {
            r.version: r for r in records if isinstance(r, ClaimHeader) and r.claim_id == f"C{c}"
        }
        records += draw(st.lists(decisions(f"C{c}", headers), max_size=3))
    records += draw(st.lists(st.sampled_from(records), max_size=6))  # copies
    order = list(draw(st.permutations(records)))
    settles = draw(st.sets(st.integers(0, len(order)), max_size=len(order) // 2))
    return order, draw(st.sampled_from(TOLERANCES)), settles


def run(
    records: list[Record], tolerances: Tolerances, settles: set[int]
) -> tuple[ClaimsEngine, ClaimsOutput]:
    state = DictState()  # one table, as in the worker: the claims read the accrual rows
    rebates = RebateEngine(state)
    claims = ClaimsEngine(state, RebateStateFacts(state), tolerances)
    out = ClaimsOutput()
    offsets = {"pos": 0, "promo": 0}

    def flush() -> None:
        for posting in rebates.settle():
            claims.accrual_changed(posting.agreement_id)
        out.extend(claims.settle())

    for i, record in enumerate(records):
        rid = f"r{i}"
        if isinstance(record, SaleLine | Agreement):
            topic = "promo" if isinstance(record, Agreement) else "pos"
            ref = RecordRef(record_id=rid, offset=offsets[topic], line=i)
            offsets[topic] += 1
            if isinstance(record, Agreement):
                doc = state.get(f"a:{record.agreement_id}")
                if doc is None or doc["vendor"] == record.vendor_id:
                    rebates.apply_agreement(record, ref)
                    claims.accrual_changed(record.agreement_id)
            else:
                rebates.apply_sale(record, ref)
        elif isinstance(record, ClaimHeader):
            claims.apply_header(record, rid)
        elif isinstance(record, ClaimDecision):
            claims.apply_decision(record, rid)
        else:
            claims.apply_lines([(record, rid)])
        if i in settles:
            flush()
    flush()
    claims.sweep()  # end of input (docs/claims.md, "When a claim is re-evaluated")
    out.extend(claims.settle())
    return claims, out


def final_view(claims: ClaimsEngine, out: ClaimsOutput) -> tuple[Any, Any, Any]:
    index = claims.state.get(store.INDEX_KEY) or {"c": []}
    statuses = {
        (c, v): ClaimStatus(claims.state.get(store.version_key(c, v))["status"])  # type: ignore[index]
        for c, v in index["c"]
    }
    latest: dict[str, Any] = {}
    for event in out.exceptions:
        if event.exception_id not in latest or latest[event.exception_id].seq < event.seq:
            latest[event.exception_id] = event
    open_ = {(e.kind.value, e.claim_id, e.version, e.sale_key) for e in latest.values() if e.open}
    settled: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    ids = [s.entry_id for s in out.settlements]
    assert len(ids) == len(set(ids)), "a settlement entry id was used twice"
    for s in out.settlements:
        settled[(s.claim_id, s.version)] += s.amount
    return statuses, open_, {k: v for k, v in settled.items() if v}


@given(scenarios())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_claims_equal_the_reference_whatever_the_arrival_order(
    scenario: tuple[list[Record], Tolerances, set[int]],
) -> None:
    records, tolerances, settles = scenario
    claims, out = run(records, tolerances, settles)
    statuses, open_, settled = final_view(claims, out)
    ref = reference_claims(records, tolerances)
    assert statuses == ref.status
    for status in set(ref.status.values()):
        tally(f"status {status.value}")
    if any(e[0] == "claim_approval_invalid" for e in ref.exceptions):
        tally("an approval refused")
    assert open_ == ref.exceptions
    assert settled == {k: v for k, v in ref.settled.items() if v}
    for s in out.settlements:
        assert s.amount == s.amount.quantize(Decimal("0.01"))
    # A replay of every claim record (new record ids) is all duplicates and adds nothing.
    for i, record in enumerate(records):
        if isinstance(record, ClaimHeader):
            assert claims.apply_header(record, f"replay{i}").value == "duplicate"
        elif isinstance(record, ClaimLine):
            assert claims.apply_lines([(record, f"replay{i}")])[0].value == "duplicate"
        elif isinstance(record, ClaimDecision):
            assert claims.apply_decision(record, f"replay{i}").value == "duplicate"
    claims.sweep()
    again = claims.settle()
    assert again.settlements == [] and again.exceptions == []
