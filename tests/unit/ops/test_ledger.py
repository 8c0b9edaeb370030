from decimal import Decimal
from typing import Any

import pytest

from streams.ops.ledger import LedgerConflictError, distinct_entries

pytestmark = pytest.mark.unit


def entry(entry_id: str, amount: str, agreement: str = "A1", vendor: str = "V1") -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "agreement_id": agreement,
        "vendor_id": vendor,
        "period": "2026-01",
        "currency": "USD",
        "amount": Decimal(amount),
    }


def test_each_entry_id_counts_once() -> None:
    ledger = distinct_entries([entry("e1", "1.00"), entry("e2", "2.50"), entry("e1", "1.00")])
    assert ledger.duplicate_copies == 1
    assert ledger.totals() == {("A1", "2026-01", "USD"): (Decimal("3.50"), 2)}


def test_an_entry_id_with_two_amounts_is_a_broken_invariant() -> None:
    with pytest.raises(LedgerConflictError, match="e1"):
        distinct_entries([entry("e1", "1.00"), entry("e1", "1.01")])


def test_one_agreement_id_over_two_vendors_is_refused() -> None:
    ledger = distinct_entries([entry("e1", "1.00"), entry("e2", "1.00", vendor="V2")])
    with pytest.raises(LedgerConflictError, match="vendors V1 and V2"):
        ledger.totals()


def test_accruals_leave_out_the_settlements_of_claims() -> None:
    entries = [entry("e1", "3.00"), entry("s1", "-1.00"), entry("s2", "2.00")]
    entries[0]["kind"], entries[1]["kind"], entries[2]["kind"] = (
        "accrual",
        "settlement_reversal",
        "settlement",
    )
    ledger = distinct_entries(entries)
    assert ledger.totals() == {("A1", "2026-01", "USD"): (Decimal("4.00"), 3)}
    assert ledger.accruals().totals() == {("A1", "2026-01", "USD"): (Decimal("3.00"), 1)}
