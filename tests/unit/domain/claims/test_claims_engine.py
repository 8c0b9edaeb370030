"""The claims engine on worked examples: statuses that follow the accruals, amendments,
double claims, over-quantity net of returns, tolerances and validation errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.postings import RecordRef
from streams.domain.claims.engine import ClaimsEngine
from streams.domain.claims.facts import RebateStateFacts
from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.results import ClaimsOutput, SettlementKind
from streams.domain.claims.rules import ClaimExceptionKind as K
from streams.domain.claims.rules import ClaimStatus, Tolerances
from streams.domain.models.parsing import to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.state import DictState
from streams.errors import Category, RecordError

pytestmark = pytest.mark.unit

AGREEMENT = Agreement.model_validate(
    {
        "agreement_id": "A1",
        "vendor_id": "V1",
        "skus": "S1|S2",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "basis": "per_unit",
        "period": "quarter",
        "tier_method": "retroactive",
        "tiers": "0:0.50",
        "currency": "USD",
    }
)


def sale(txn: str, qty: int, sku: str = "S1", day: int = 10) -> SaleLine:
    return SaleLine(
        txn_id=txn,
        line_no=1,
        store_id="ST",
        sku=sku,
        vendor_id="V1",
        qty=qty,
        unit_price=Decimal("2.00"),
        currency="USD",
        sold_at=datetime(2026, 2, day, 12, tzinfo=UTC),
    )


def header(claim: str, amount: str, lines: int, version: int = 1) -> ClaimHeader:
    return ClaimHeader(
        claim_id=claim,
        version=version,
        agreement_id="A1",
        vendor_id="V1",
        period="2026-Q1",
        claimed_amount=Decimal(amount),
        currency="USD",
        line_count=lines,
    )


def line(claim: str, txn: str, qty: int, version: int = 1, sku: str = "S1") -> ClaimLine:
    return ClaimLine(
        claim_id=claim,
        version=version,
        vendor_id="V1",
        txn_id=txn,
        line_no=1,
        sold_on=date(2026, 2, 10),
        sku=sku,
        qty=qty,
        amount=Decimal("1.00"),
    )


class World:
    """The rebate and claims engines on one state, flushed like the worker's batches."""

    def __init__(self, tolerances: Tolerances | None = None) -> None:
        self.state = DictState()
        self.rebates = RebateEngine(self.state)
        self.claims = ClaimsEngine(
            self.state, RebateStateFacts(self.state), tolerances or Tolerances()
        )
        self.out = ClaimsOutput()
        self.n = 0

    def ref(self) -> RecordRef:
        self.n += 1
        return RecordRef(record_id=f"r{self.n}", offset=self.n)

    def feed(self, *records: object) -> ClaimsOutput:
        for r in records:
            if isinstance(r, SaleLine):
                self.rebates.apply_sale(r, self.ref())
            elif isinstance(r, Agreement):
                self.rebates.apply_agreement(r, self.ref())
                self.claims.accrual_changed(r.agreement_id)
            elif isinstance(r, ClaimHeader):
                self.claims.apply_header(r, self.ref().record_id)
            elif isinstance(r, ClaimLine):
                self.claims.apply_lines([(r, self.ref().record_id)])
        for posting in self.rebates.settle():
            self.claims.accrual_changed(posting.agreement_id)
        out = self.claims.settle()
        self.out.extend(out)
        return out

    def status(self, claim: str, version: int = 1) -> ClaimStatus:
        doc = self.state.get(f"ch:{claim}\x1f{version}")
        assert doc is not None
        return ClaimStatus(doc["status"])


def test_a_claim_before_its_sales_is_disputed_then_matched_when_they_accrue() -> None:
    w = World()
    w.feed(AGREEMENT)
    out = w.feed(header("C1", "10.00", 1), line("C1", "T1", 20))
    assert w.status("C1") is ClaimStatus.DISPUTED
    assert {e.kind for e in out.exceptions if e.open} == {K.DISPUTE, K.UNKNOWN_SALE}
    dispute = next(e for e in out.exceptions if e.kind is K.DISPUTE)
    assert "claimed 10.00 USD, accrued 0.00, difference 10.00" in dispute.details
    out = w.feed(sale("T1", 20))  # 20 units x 0.50 = 10.00 accrued: no sweep needed
    assert w.status("C1") is ClaimStatus.MATCHED
    assert {(e.kind, e.open) for e in out.exceptions} == {
        (K.DISPUTE, False),
        (K.UNKNOWN_SALE, False),
    }
    assert [(s.kind, s.amount) for s in out.settlements] == [
        (SettlementKind.SETTLEMENT, Decimal("10.00"))
    ]
    w.claims.sweep()
    assert w.feed().settlements == []  # settled once


def test_an_amendment_supersedes_and_settles_once_per_version() -> None:
    w = World()
    w.feed(AGREEMENT, sale("T1", 20), sale("T2", 4))
    w.feed(header("C1", "11.50", 1), line("C1", "T1", 20))  # 0.50 under 12.00: within
    assert w.status("C1") is ClaimStatus.MATCHED
    w.feed(header("C1", "12.00", 1, version=2), line("C1", "T2", 4, version=2))
    assert w.status("C1", 1) is ClaimStatus.SUPERSEDED
    assert w.status("C1", 2) is ClaimStatus.MATCHED
    kinds = [(s.version, s.kind, s.amount) for s in w.out.settlements]
    assert kinds == [
        (1, SettlementKind.SETTLEMENT, Decimal("11.50")),
        (1, SettlementKind.SETTLEMENT_REVERSAL, Decimal("-11.50")),
        (2, SettlementKind.SETTLEMENT, Decimal("12.00")),
    ]
    assert len({s.entry_id for s in w.out.settlements}) == 3


def test_a_double_claim_is_flagged_on_the_larger_claim_id_and_moves_with_versions() -> None:
    w = World(Tolerances(over_amount=Decimal(100), over_percent=Decimal(1000)))
    w.feed(AGREEMENT, sale("T1", 20))
    w.feed(header("C2", "10.00", 1), line("C2", "T1", 20))
    assert w.status("C2") is ClaimStatus.MATCHED
    w.feed(header("C1", "10.00", 1), line("C1", "T1", 20))
    assert w.status("C1") is ClaimStatus.MATCHED
    assert w.status("C2") is ClaimStatus.DISPUTED
    assert any(e.kind is K.DOUBLE_CLAIMED and e.claim_id == "C2" for e in w.out.exceptions)
    # C1 amended without the line: the sale is C2's again.
    w.feed(header("C1", "0.00", 0, version=2))
    assert w.status("C2") is ClaimStatus.MATCHED


def test_over_quantity_is_net_of_returns_in_the_period() -> None:
    w = World(Tolerances(over_amount=Decimal(100), over_percent=Decimal(1000)))
    w.feed(AGREEMENT, sale("T1", 10), sale("T2", 10, day=11), sale("R1", -5, day=12))
    claim = [
        line("C1", "T1", 10),
        line("C1", "T2", 10).model_copy(update={"sold_on": date(2026, 2, 11)}),
    ]
    w.feed(header("C1", "7.50", 2), *claim)
    kinds = {e.sale_key[:8]: e.kind for e in w.out.exceptions if e.open}
    assert list(kinds.values()) == [
        K.OVER_QUANTITY
    ]  # 10 + 10 claimed, 15 sold net: the second line
    assert w.status("C1") is ClaimStatus.DISPUTED
    # A line above its own sale's quantity:
    w = World()
    w.feed(AGREEMENT, sale("T1", 10), header("C3", "5.00", 1), line("C3", "T1", 11))
    assert [e.kind for e in w.out.exceptions if e.open] == [K.OVER_QUANTITY]


def test_lines_not_covered_and_wrong_sku() -> None:
    w = World()
    w.feed(AGREEMENT, sale("T1", 4, sku="S3"), sale("T2", 4))
    w.feed(header("C1", "2.00", 2), line("C1", "T1", 4, sku="S3"), line("C1", "T2", 4, sku="S2"))
    kinds = sorted(e.kind.value for e in w.out.exceptions if e.open)
    assert kinds == [K.NOT_COVERED.value, K.UNKNOWN_SALE.value]


def test_incomplete_until_every_announced_line_arrived() -> None:
    w = World()
    w.feed(AGREEMENT, sale("T1", 20))
    w.feed(header("C1", "10.00", 2), line("C1", "T1", 20))
    assert w.status("C1") is ClaimStatus.INCOMPLETE
    assert w.out.exceptions == [] and w.out.settlements == []


def test_a_version_waiting_for_lines_is_held_until_complete_or_swept() -> None:
    w = World()
    w.feed(AGREEMENT, sale("T1", 20), sale("T2", 20), sale("T3", 20))
    w.claims.apply_header(header("C1", "10.00", 2), "h1")
    w.claims.apply_lines([(line("C1", "T1", 20), "l1")])
    w.claims.apply_header(header("C2", "10.00", 5), "h2")
    w.claims.apply_lines([(line("C2", "T3", 20), "l3")])
    assert w.claims.settle(hold_incomplete=True).results == []  # both still waiting
    w.claims.apply_lines([(line("C1", "T2", 20), "l2")])
    [decided] = w.claims.settle(hold_incomplete=True).results  # C1 has its lines now
    assert (decided.claim_id, decided.received) == ("C1", 2)
    assert w.claims.settle(hold_incomplete=True).results == []
    [held] = w.claims.settle().results  # a settle without holding evaluates what was held
    assert (held.claim_id, held.status, held.received) == ("C2", ClaimStatus.INCOMPLETE, 1)


def test_a_large_version_is_read_back_from_its_buckets() -> None:
    w = World()
    w.feed(AGREEMENT, *(sale(f"T{i}", 2) for i in range(300)))
    w.claims.apply_header(header("C1", "60.00", 300), "h")
    w.claims.apply_lines([(line("C1", f"T{i}", 2), f"l{i}") for i in range(300)])
    [result] = w.claims.settle(hold_incomplete=True).results
    assert (result.received, result.failing) == (300, {})  # every line found again
    doc = w.state.get("ch:C1\x1f1")
    assert doc is not None and len(doc["b"]) == len(set(doc["b"])) <= 300
    assert all(len(group) == 3 for group in doc["b"])  # groups of 16 buckets


def test_a_copy_of_a_claim_record_is_a_duplicate() -> None:
    w = World()
    assert w.claims.apply_header(header("C1", "1", 0), "a").value == "applied"
    assert w.claims.apply_header(header("C1", "1", 0), "a").value == "applied"  # its owner
    assert w.claims.apply_header(header("C1", "1", 0), "b").value == "duplicate"
    assert [o.value for o in w.claims.apply_lines([(line("C1", "T", 1), "c")] * 2)] == [
        "applied",
        "applied",
    ]
    assert w.claims.apply_lines([(line("C1", "T", 1), "d")])[0].value == "duplicate"


@pytest.mark.parametrize(
    ("claimed", "accrued", "within"),
    [
        ("101.00", "100.00", False),  # within 1.00, but 1 % is above 0.5 %
        ("100.50", "100.00", True),
        ("100.51", "100.00", False),  # over 0.5 %
        ("95.00", "100.00", True),  # under by 5 %: within 50.00 and 5 %
        ("94.99", "100.00", False),
        ("0.01", "0", False),  # nothing accrued: any over-claim is a dispute
        ("0", "0", True),
    ],
)
def test_tolerances_are_separate_for_over_and_under_claims(
    claimed: str, accrued: str, within: bool
) -> None:
    tol = Tolerances(
        over_amount=Decimal("1.00"),
        over_percent=Decimal("0.5"),
        under_amount=Decimal("50"),
        under_percent=Decimal("5"),
    )
    assert tol.within(Decimal(claimed), Decimal(accrued)) is within


def test_validation_errors_name_the_record_field_and_value() -> None:
    columns = ["claim_id", "version", "vendor_id", "agreement_id", "period",
               "claimed_amount", "currency", "line_count"]  # fmt: skip
    with pytest.raises(RecordError) as err:
        to_model(ClaimHeader, columns, b"C1,1,V1,A1,2026-13,10.00,USD,1", "claims.csv line 2")
    assert err.value.category is Category.INVALID_VALUE
    assert err.value.field == "period" and err.value.value == "2026-13"
    assert "claims.csv line 2: field period='2026-13'" in err.value.message
    with pytest.raises(RecordError) as err:
        to_model(ClaimHeader, columns, b"C1,1,V1,A1,2026-Q1,10.001,USD,1", "claims.csv line 3")
    assert err.value.field == "claimed_amount"
