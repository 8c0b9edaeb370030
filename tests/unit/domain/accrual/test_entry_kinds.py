"""The kind of each ledger entry follows the order records arrive in (docs/domain.md §3.7)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.postings import EntryKind, RecordRef
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.models.tiers import Tier
from streams.domain.state import DictState
from tests.unit.domain.accrual.test_engine_properties import Event, apply

pytestmark = pytest.mark.unit

DAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
AGREEMENT = Agreement(
    agreement_id="A1",
    vendor_id="V1",
    skus=(),
    start_date=DAY.date(),
    end_date=DAY.date(),
    basis="per_unit",
    period="month",
    tier_method="retroactive",
    tiers=(Tier(Decimal(0), Decimal("0.10")), Tier(Decimal(100), Decimal("0.20"))),
    currency="USD",
)


def sale(n: int, qty: int) -> SaleLine:
    return SaleLine(
        txn_id=f"T{n}",
        line_no=1,
        store_id="S",
        sku="K",
        vendor_id="V1",
        qty=qty,
        unit_price=Decimal("1.00"),
        currency="USD",
        sold_at=DAY,
    )


def kinds(engine: RebateEngine, records: list[Event]) -> list[tuple[str, str]]:
    out = []
    for offset, record in enumerate(records):
        ref = RecordRef(record_id=f"r{offset}", offset=offset, line=offset)
        out += [(p.kind.value, str(p.amount)) for p in apply(engine, record, ref)]
    return out


def test_agreement_first_accrual_true_up_and_reversal() -> None:
    records: list[Event] = [AGREEMENT, sale(1, 50), sale(2, 60), sale(3, -20)]
    assert kinds(RebateEngine(DictState()), records) == [
        (EntryKind.ACCRUAL.value, "5.00"),  # 50 units at 0.10
        (EntryKind.TRUE_UP.value, "17.00"),  # 110 units cross 100: all at 0.20 = 22.00
        (EntryKind.REVERSAL.value, "-13.00"),  # a return back to 90 units at 0.10 = 9.00
    ]


def test_agreement_after_the_sales_re_rates_them() -> None:
    records: list[Event] = [sale(1, 50), sale(2, 60), AGREEMENT]
    assert kinds(RebateEngine(DictState()), records) == [(EntryKind.RE_RATE.value, "22.00")]
