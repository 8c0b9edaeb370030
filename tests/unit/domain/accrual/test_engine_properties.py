"""The engine against the plain reference, over shuffled arrivals, duplicates, late and
amended agreements, and simulated crashes (changelog cut mid-record, then reprocessing)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.postings import Posting, RecordRef, posting_from_json
from streams.domain.accrual.reference import TotalKey, reference_totals
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.models.tiers import Tier
from streams.domain.state import DictState

pytestmark = pytest.mark.unit

VENDORS = ("V1", "V2")
SKUS = ("S1", "S2", "S3")
BASE = date(2026, 1, 1)

Event = SaleLine | Agreement


@st.composite
def sales(draw: st.DrawFn) -> SaleLine:
    day = BASE + timedelta(days=draw(st.integers(0, 180)))
    return SaleLine(
        txn_id=f"T{draw(st.integers(0, 10_000))}",
        line_no=draw(st.integers(1, 3)),
        store_id="ST",
        sku=draw(st.sampled_from(SKUS)),
        vendor_id=draw(st.sampled_from(VENDORS)),
        qty=draw(st.integers(-20, 400)),
        unit_price=Decimal(draw(st.integers(0, 2_000))) / 100,
        currency=draw(st.sampled_from(("USD", "USD", "EUR"))),
        sold_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
    )


@st.composite
def agreements(draw: st.DrawFn, agreement_id: str) -> Agreement:
    start = BASE + timedelta(days=draw(st.integers(0, 120)))
    thresholds = sorted(draw(st.sets(st.integers(0, 3_000), min_size=1, max_size=3)))
    rates = [Decimal(draw(st.integers(0, 300))) / 1000 for _ in thresholds]
    return Agreement(
        agreement_id=agreement_id,
        vendor_id=VENDORS[int(agreement_id[1:]) % 2],
        skus=draw(st.sampled_from(((), ("S1",), ("S1", "S2")))),
        start_date=start,
        end_date=start + timedelta(days=draw(st.integers(0, 120))),
        basis=draw(st.sampled_from(("per_unit", "percent"))),
        period=draw(st.sampled_from(("month", "quarter", "agreement"))),
        tier_method=draw(st.sampled_from(("retroactive", "incremental"))),
        tiers=tuple(Tier(Decimal(t), r) for t, r in zip(thresholds, rates, strict=True)),
        currency=draw(st.sampled_from(("USD", "USD", "EUR"))),
    )


@st.composite
def arrivals(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = draw(st.lists(sales(), min_size=1, max_size=40))
    for n in range(draw(st.integers(1, 3))):
        events += draw(st.lists(agreements(f"A{n}"), min_size=1, max_size=3))  # amendments
    events += draw(st.lists(st.sampled_from(events), max_size=10))  # duplicates
    return list(draw(st.permutations(events)))


def refs_for(events: list[Event]) -> list[RecordRef]:
    """Records of the two raw topics get offsets of their own topic, like Kafka's."""
    offsets = {"pos": 0, "promo": 0}
    refs = []
    for i, event in enumerate(events):
        topic = "promo" if isinstance(event, Agreement) else "pos"
        refs.append(RecordRef(record_id=f"r{i}", offset=offsets[topic], line=i))
        offsets[topic] += 1
    return refs


def apply(engine: RebateEngine, event: Event, ref: RecordRef) -> list[Posting]:
    if isinstance(event, Agreement):
        if (doc := engine.state.get(f"a:{event.agreement_id}")) and doc[
            "vendor"
        ] != event.vendor_id:
            return []
        return engine.apply_agreement(event, ref).postings
    engine.apply_sale(event, ref)
    return engine.settle()  # record by record: each sale settles its rows at once


def ledger_totals(postings: list[Posting]) -> dict[TotalKey, Decimal]:
    """Count each entry_id once; two entries with one id must agree on the amount."""
    by_id: dict[str, Posting] = {}
    for p in postings:
        if p.entry_id in by_id:
            assert by_id[p.entry_id].amount == p.amount, f"entry {p.entry_id} changed amount"
        by_id[p.entry_id] = p
    totals: dict[TotalKey, Decimal] = defaultdict(Decimal)
    for p in by_id.values():
        totals[(p.agreement_id, p.period, p.currency)] += p.amount
    return {k: v for k, v in totals.items() if v}


@given(arrivals())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_ledger_equals_reference_whatever_the_arrival_order(events: list[Event]) -> None:
    engine = RebateEngine(DictState())
    postings = [
        p for e, r in zip(events, refs_for(events), strict=True) for p in apply(engine, e, r)
    ]
    assert ledger_totals(postings) == reference_totals(events)
    for p in postings:
        assert p.amount == p.amount.quantize(Decimal("0.01"))


@given(arrivals(), st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_second_delivery_of_everything_changes_nothing(events: list[Event], data: Any) -> None:
    engine = RebateEngine(DictState())
    refs = refs_for(events)
    first = [p for e, r in zip(events, refs, strict=True) for p in apply(engine, e, r)]
    replay = list(zip(events, refs_for(events + events)[len(events) :], strict=True))
    again = [p for e, r in data.draw(st.permutations(replay)) for p in apply(engine, e, r)]
    assert again == []
    assert ledger_totals(first) == reference_totals(events)


class ChangelogState(DictState):
    """Records every write in order, like the table's changelog partition."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, bytes]] = []

    def put(self, key: str, value: dict[str, Any]) -> None:
        super().put(key, value)
        self.log.append((key, self.data[key]))


def relayed(log: list[tuple[str, bytes]]) -> list[Posting]:
    """What the ledger relay publishes: the outbox of every posting-row write."""
    from streams.domain.state import decode

    return [
        posting_from_json(doc)
        for key, raw in log
        if key.startswith("p:")
        for doc in decode(raw).get("out", [])
    ]


# -- chunks: many sales of one message applied in one call ---------------------------------

Step = tuple[list[Event], list[RecordRef]]  # one message: a chunk of sales, or one agreement


def messages(events: list[Event], sizes: list[int]) -> list[Step]:
    """Consecutive sales in chunks of the drawn sizes (one message each, the records
    indexed within it); an agreement is a message of its own, as in the raw topics."""
    steps: list[Step] = []
    offsets = {"pos": 0, "promo": 0}
    chunk: list[Event] = []
    ids = iter(range(len(events)))

    def close() -> None:
        if chunk:
            o = offsets["pos"]
            refs = [RecordRef(f"r{next(ids)}", o, line=o, index=i) for i in range(len(chunk))]
            steps.append((list(chunk), refs))
            offsets["pos"] += 1
            chunk.clear()

    for event in events:
        if isinstance(event, Agreement):
            close()
            steps.append(([event], [RecordRef(f"r{next(ids)}", offsets["promo"])]))
            offsets["promo"] += 1
            continue
        chunk.append(event)
        if len(chunk) >= (sizes[len(steps) % len(sizes)] if sizes else 1):
            close()
    close()
    return steps


def apply_step(engine: RebateEngine, step: Step) -> list[Posting]:
    events, refs = step
    if len(events) == 1:  # a message of one record: the record-at-a-time path
        return apply(engine, events[0], refs[0])
    sales = [(e.facts(), r.record_id, r.position) for e, r in zip(events, refs, strict=True)
             if isinstance(e, SaleLine)]  # fmt: skip
    engine.apply_sales(sales, refs.__getitem__)
    return engine.settle()


def assert_exact_after_a_crash(events: list[Event], steps: list[Step], data: Any) -> None:
    """Apply every message logging each write, cut the changelog anywhere, restore from
    it, then reprocess from earlier committed offsets (each topic resumes at a message it
    had fully applied or earlier: a chunk cut in the middle is processed again from its
    first record), in another interleaving of the two topics: the ledger the relay
    publishes equals the reference."""
    first = RebateEngine(ChangelogState())
    boundaries = []  # changelog length after each message
    for step in steps:
        apply_step(first, step)
        boundaries.append(len(first.state.log))  # type: ignore[attr-defined]
    log = first.state.log  # type: ignore[attr-defined]
    cut = data.draw(st.integers(0, len(log)), label="changelog cut")
    done = sum(1 for b in boundaries if b <= cut)  # messages fully in the changelog
    recovered = ChangelogState()
    for key, raw in log[:cut]:
        recovered.data[key] = raw
    recovered.log = list(log[:cut])
    second = RebateEngine(recovered)
    queues = []
    for is_promo in (False, True):
        own = [s for s in steps if isinstance(s[0][0], Agreement) is is_promo]
        applied = sum(1 for s in steps[:done] if isinstance(s[0][0], Agreement) is is_promo)
        committed = data.draw(st.integers(0, applied), label=f"committed (promo={is_promo})")
        queues.append(own[committed:])
    order = data.draw(
        st.permutations([0] * len(queues[0]) + [1] * len(queues[1])), label="interleaving"
    )
    iters = [iter(q) for q in queues]
    for which in order:
        apply_step(second, next(iters[which]))
    assert ledger_totals(relayed(recovered.log)) == reference_totals(events)


@given(arrivals(), st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_crash_mid_record_then_reprocessing_is_exact(events: list[Event], data: Any) -> None:
    assert_exact_after_a_crash(events, messages(events, [1]), data)


def test_redelivered_superseded_agreement_does_not_roll_terms_back() -> None:
    """Found by the crash property: v1 redelivered after v2 was applied."""
    day = datetime(2026, 1, 1, 12, tzinfo=UTC)
    sale = SaleLine(
        txn_id="T0",
        line_no=1,
        store_id="ST",
        sku="S1",
        vendor_id="V1",
        qty=3,
        unit_price=Decimal(0),
        currency="USD",
        sold_at=day,
    )

    def version(rate: str) -> Agreement:
        return Agreement(
            agreement_id="A2",
            vendor_id="V1",
            skus=(),
            start_date=day.date(),
            end_date=day.date(),
            basis="per_unit",
            period="month",
            tier_method="retroactive",
            tiers=(Tier(Decimal(0), Decimal(rate)),),
            currency="USD",
        )

    engine = RebateEngine(ChangelogState())
    events: list[Event] = [sale, version("0"), version("0.002")]
    refs = refs_for(events)
    for event, ref in zip(events, refs, strict=True):
        apply(engine, event, ref)
    for event, ref in list(zip(events, refs, strict=True))[1:]:  # redelivery after a crash
        apply(engine, event, ref)
    log = engine.state.log  # type: ignore[attr-defined]
    assert ledger_totals(relayed(log)) == {("A2", "2026-01", "USD"): Decimal("0.01")}


def test_agreement_redelivered_after_a_later_sales_aggregate_became_durable() -> None:
    """Found by the batched crash property: the changelog cut between a sale's aggregate and
    its posting row, then the (uncommitted) agreement processed again first. Its re-rating
    sees the sale and posts the difference: a new entry, not its first entry's id again."""
    day = datetime(2026, 1, 3, 12, tzinfo=UTC)

    def sale(txn: str, qty: int, when: datetime) -> SaleLine:
        return SaleLine(
            txn_id=txn, line_no=1, store_id="ST", sku="S1", vendor_id="V1", qty=qty,
            unit_price=Decimal(0), currency="USD", sold_at=when,
        )  # fmt: skip

    agreement = Agreement(
        agreement_id="A0", vendor_id="V1", skus=(), start_date=date(2026, 1, 1),
        end_date=date(2026, 2, 1), basis="per_unit", period="quarter",
        tier_method="retroactive", tiers=(Tier(Decimal(0), Decimal("0.01")),), currency="USD",
    )  # fmt: skip
    events: list[Event] = [sale("T1", 29, day), agreement, sale("T2", 1, day - timedelta(days=2))]
    refs = refs_for(events)
    engine = RebateEngine(ChangelogState())
    for event, ref in zip(events, refs, strict=True):
        apply(engine, event, ref)
    log = engine.state.log  # type: ignore[attr-defined]
    assert log[-1][0].startswith("p:") and log[-2][0].startswith("g:")
    recovered = ChangelogState()
    for key, raw in log[:-1]:  # T2's aggregate is durable, its posting row is not
        recovered.data[key] = raw
    recovered.log = list(log[:-1])
    again = RebateEngine(recovered)
    for i in (1, 0, 2):  # nothing committed: the agreement comes back first
        apply(again, events[i], refs[i])
    assert ledger_totals(relayed(recovered.log)) == {("A0", "2026-Q1", "USD"): Decimal("0.30")}


@given(arrivals(), st.lists(st.integers(1, 12), min_size=1, max_size=4))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_chunks_give_the_ledger_of_one_sale_at_a_time(
    events: list[Event], sizes: list[int]
) -> None:
    engine = RebateEngine(DictState())
    postings = [p for step in messages(events, sizes) for p in apply_step(engine, step)]
    assert ledger_totals(postings) == reference_totals(events)


@given(arrivals(), st.lists(st.integers(1, 12), min_size=1, max_size=4), st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_crash_mid_chunk_then_reprocessing_is_exact(
    events: list[Event], sizes: list[int], data: Any
) -> None:
    assert_exact_after_a_crash(events, messages(events, sizes), data)
