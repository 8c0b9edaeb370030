"""The docs/domain.md §5 rules on the example files and on hand-built variations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from streams.domain.threeway.reference import expected_results
from streams.domain.threeway.rules import PriceTolerance, check_freight, evaluate
from tests.unit.domain.threeway.helpers import kinds_by_record, routed

pytestmark = pytest.mark.unit

TOL = PriceTolerance(Decimal("0.01"), Decimal("1"))


def test_examples_exercise_every_outcome() -> None:
    found = kinds_by_record(expected_results(routed("orders.edi", "freight.edi"), TOL))
    assert found == {
        ("matched", "invoice", "INV1001"),
        ("quantity_variance", "invoice", "INV1002"),
        ("price_variance", "invoice", "INV1003"),
        ("total_mismatch", "invoice", "INV1004"),
        ("matched", "invoice", "INV1004"),  # its lines agree: only the total is wrong
        ("missing_document", "invoice", "INV1005"),
        ("matched", "freight_invoice", "PRO501"),
        ("total_mismatch", "freight_invoice", "PRO502"),
    }


def test_both_matched_lines_of_an_order_are_reported() -> None:
    results = expected_results(routed("orders.edi"), TOL)
    lines = sorted(r["line"] for r in results.values() if r["record_id"] == "INV1001")
    assert lines == ["BP:ACM-1", "BP:ACM-2"]


def test_variance_details_name_the_values() -> None:
    results = expected_results(routed("orders.edi"), TOL).values()
    qty = next(r for r in results if r["kind"] == "quantity_variance")
    assert qty["differences"][0] == ["invoiced", "12", "10"]
    price = next(r for r in results if r["kind"] == "price_variance")
    assert price["differences"] == [["unit_price", "5.25", "4.25"]]
    total = next(r for r in results if r["kind"] == "total_mismatch" and r["po"] == "PO1004")
    assert total["differences"] == [["TDS", "90.00", "80.00"]]


def _order(kind: str) -> list[dict[str, Any]]:
    return [doc for key, _, doc in routed("orders.edi") if key == kind]


def test_missing_document_waits_for_the_window() -> None:
    docs = _order("PO1005")
    assert evaluate(docs, closed=False, tol=TOL) == {}
    closed = evaluate(docs, closed=True, tol=TOL)
    assert [r["kind"] for r in closed.values()] == ["missing_document"]
    assert "no PO (850) and no ship notice (856)" in next(iter(closed.values()))["details"]


def test_invoice_without_asn_is_missing_its_asn_only() -> None:
    docs = [d for d in _order("PO1001") if d["t"] != "856"]
    (body,) = evaluate(docs, closed=True, tol=TOL).values()
    assert body["kind"] == "missing_document"
    assert body["differences"] == [["missing", "ship notice (856)", ""]]


def test_shipped_more_than_ordered_is_a_quantity_variance() -> None:
    docs = _order("PO1001")
    asn = next(d for d in docs if d["t"] == "856")
    asn["lines"][0]["q"] = "11"  # shipped 11 of 10 ordered; invoiced 10
    kinds = {r["kind"] for r in evaluate(docs, closed=False, tol=TOL).values()}
    assert "quantity_variance" in kinds


@pytest.mark.parametrize(
    ("invoiced", "within"),
    [("4.25", True), ("4.26", True), ("4.27", False), ("4.24", True), ("4.23", False)],
)
def test_price_tolerance_amount(invoiced: str, within: bool) -> None:
    assert (
        PriceTolerance(Decimal("0.01"), Decimal("100")).within(Decimal("4.25"), Decimal(invoiced))
        is within
    )


def test_price_tolerance_percent_binds_too() -> None:
    tol = PriceTolerance(Decimal("1.00"), Decimal("1"))  # 1 % of 4.25 = 0.0425
    assert tol.within(Decimal("4.25"), Decimal("4.29"))
    assert not tol.within(Decimal("4.25"), Decimal("4.30"))


def _freight(b3: str, l1: str, l3: str | None, count: int = 2) -> dict[str, Any]:
    return {"t": "210", "id": "P1", "buyer": "B", "seller": "S", "b3": b3, "l1": l1,
            "l1_count": count, "l3": l3}  # fmt: skip


def test_freight_checks_b3_against_l1_and_l3() -> None:
    assert check_freight(_freight("214.25", "214.25", "214.25"))[1]["kind"] == "matched"
    assert check_freight(_freight("214.25", "214.25", None))[1]["kind"] == "matched"
    bad_l1 = check_freight(_freight("214.25", "200.00", "214.25"))[1]
    assert bad_l1["differences"] == [["L1 charges", "200.00", "214.25"]]
    bad_l3 = check_freight(_freight("214.25", "214.25", "300.00"))[1]
    assert bad_l3["differences"] == [["L3 charge", "300.00", "214.25"]]
    none = check_freight(_freight("214.25", "0", None, count=0))[1]
    assert none["kind"] == "total_mismatch"
