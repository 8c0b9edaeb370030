"""`recon ledger check`: a row differs when its amount or its entry count does, on either
side."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from streams.ops.ledger_check import Difference, ExportError, differences, export_totals

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


def test_an_erp_export_sums_each_entry_once(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "entry_id,agreement_id,period,currency,amount,memo\n"
        "e1,A,2026-01,EUR,10.00,x\n"
        "e2,A,2026-01,EUR,-2.50,y\n"
        "e1,A,2026-01,EUR,10.00,posted again\n"
        "e3,B,2026-02,USD,1.00,z\n"
    )
    assert export_totals(export) == {
        ("A", "2026-01", "EUR"): (D("7.50"), 2),
        ("B", "2026-02", "USD"): (D("1.00"), 1),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entry_id,agreement_id,period,amount\n", "no column currency in the header"),
        (
            "entry_id,agreement_id,period,currency,amount\ne1,A,2026-01,EUR,ten\n",
            "line 2: field amount='ten': not a decimal number",
        ),
        (
            "entry_id,agreement_id,period,currency,amount\n"
            "e1,A,2026-01,EUR,1.00\ne1,A,2026-01,EUR,2.00\n",
            "line 3: entry e1 posted twice, differently: 1.00 and 2.00",
        ),
    ],
)
def test_an_export_that_cannot_be_compared_names_the_line_field_and_value(
    tmp_path: Path, text: str, message: str
) -> None:
    export = tmp_path / "export.csv"
    export.write_text(text)
    with pytest.raises(ExportError, match=re.escape(message)):
        export_totals(export)
