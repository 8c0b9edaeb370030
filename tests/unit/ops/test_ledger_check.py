"""`recon ledger check`: a row differs when its amount or its entry count does, on either
side."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.ops.ledger_check import Difference, differences

pytestmark = pytest.mark.unit

D = Decimal


def test_equal_totals_have_no_difference() -> None:
    totals = {("A", "2026-01", "EUR"): (D("10.00"), 2)}
    assert differences(totals, dict(totals)) == []


def test_a_cent_a_count_or_a_missing_row_is_a_difference() -> None:
    ledger = {
        ("A", "2026-01", "EUR"): (D("10.00"), 2),
        ("B", "2026-01", "EUR"): (D("5.00"), 1),
        ("C", "2026-02", "USD"): (D("1.00"), 1),
    }
    target = {
        ("A", "2026-01", "EUR"): (D("10.01"), 2),
        ("B", "2026-01", "EUR"): (D("5.00"), 2),
        ("D", "2026-03", "EUR"): (D("0.00"), 1),
    }
    found = differences(ledger, target)
    assert [(d.agreement_id, d.period) for d in found] == [
        ("A", "2026-01"),
        ("B", "2026-01"),
        ("C", "2026-02"),
        ("D", "2026-03"),
    ]
    assert found[2].target == (D("0.00"), 0)
    assert found[0].describe() == (
        "agreement A period 2026-01 EUR: ledger 10.00 in 2 entries, target 10.01 in 2 "
        "entries (difference +0.01)"
    )
    assert isinstance(found[0], Difference)
