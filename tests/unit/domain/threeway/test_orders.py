"""The PO in force (850 + 860s), a multi-PO 856 split per PO, and partial invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.threeway.orders import OrderLines
from streams.domain.threeway.reference import expected_results
from streams.domain.threeway.rules import PriceTolerance, evaluate
from tests.unit.domain.threeway.helpers import FIXTURES, routed

pytestmark = pytest.mark.unit

TOL = PriceTolerance()
LIFECYCLE = routed(FIXTURES / "po_lifecycle.edi")


def test_the_lifecycle_fixture_against_hand_computed_results() -> None:
    got = {
        (r["kind"], r["record_id"], r["line"]): r for r in expected_results(LIFECYCLE, TOL).values()
    }
    assert set(got) == {
        ("matched", "INV2001A", "BP:A-1"),  # 8 of 15 (the 860 raised 10 to 15)
        ("matched", "INV2001B", "BP:A-1"),  # 7 more: 15 of 15
        ("matched", "INV2001B", "BP:A-3"),  # the line the 860 added, at its price
        ("quantity_variance", "INV2001C", "BP:A-1"),  # 1 more: 16 of 15
        ("matched", "INV2002", "BP:B-1"),  # PO2002's part of the two-PO ship notice
    }
    variance = got[("quantity_variance", "INV2001C", "BP:A-1")]
    assert variance["differences"] == [["invoiced", "16", "15"], ["shipped", "15", "15"]]
    assert "15 in all" not in variance["details"] and "16 in all" in variance["details"]


def test_the_two_po_ship_notice_is_split_per_po() -> None:
    parts = {(key, doc["po"]): doc for key, _, doc in LIFECYCLE if doc["t"] == "856"}
    assert set(parts) == {("PO2001", "PO2001"), ("PO2002", "PO2002")}
    assert [ln["q"] for ln in parts[("PO2001", "PO2001")]["lines"]] == ["15", "2"]
    assert [ln["q"] for ln in parts[("PO2002", "PO2002")]["lines"]] == ["6"]
    idems = [idem for _, idem, doc in LIFECYCLE if doc["t"] == "856"]
    assert idems[1] == f"{idems[0]}:PO2002"


def _po(*lines: tuple[str, str, str]) -> dict[str, Any]:
    return {"lines": [{"ids": [i], "q": q, "p": p} for i, q, p in lines]}


def _change(
    seq: str, *lines: tuple[str, str, str | None, str | None], cancel: bool = False
) -> dict[str, Any]:
    return {
        "seq": seq,
        "cancel": cancel,
        "idem": seq,
        "lines": [{"ids": [i], "code": c, "q": q, "p": p} for i, c, q, p in lines],
    }


def test_changes_apply_in_sequence_order_not_arrival_order() -> None:
    po = _po(("BP:X", "10", "2.00"), ("BP:Y", "5", "1.00"))
    later = _change("10", ("BP:X", "QD", "4", None))
    earlier = _change("9", ("BP:X", "QI", "20", "2.50"), ("BP:Y", "DI", None, None))
    for changes in ([later, earlier], [earlier, later]):
        lines = OrderLines([po], [], changes)
        assert lines.ordered == {"BP:X": (Decimal(4), Decimal("2.50")), "BP:Y": (0, Decimal(1))}


def test_a_cancelled_order_and_a_change_without_its_po() -> None:
    po = _po(("BP:X", "10", "2.00"))
    cancelled = OrderLines([po], [], [_change("1", cancel=True)])
    assert cancelled.ordered == {"BP:X": (Decimal(0), Decimal("2.00"))}
    orphan = OrderLines([], [], [_change("1", ("BP:Z", "AI", "3", "1.00"))])
    assert orphan.ordered == {} and [c["seq"] for c in orphan.orphans] == ["1"]


PARTIES = {"po": "P7", "buyer": "B", "seller": "S"}


def _doc(t: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"t": t, "id": "P7", **PARTIES, **body}


def test_a_change_to_a_line_the_po_does_not_have_is_an_exception() -> None:
    po = _doc("850", _po(("BP:X", "10", "2.00")))
    change = _doc("860", _change("3", ("BP:Q", "QI", "4", None), ("BP:X", "PC", None, "2.10")))
    got = list(evaluate([change, po], False, TOL).values())
    assert [(r["kind"], r["record_type"], r["record_id"], r["line"]) for r in got] == [
        ("unmatched_change", "change_order", "P7:3", "BP:Q")
    ]
    assert got[0]["details"] == (
        "change order 3 of PO P7: QI for line BP:Q, which the PO does not have (quantity 4): "
        "not applied"
    )
    assert got[0]["partner_type"] == "purchase_order"
    # the line the PO has is still amended
    assert OrderLines([po], [], [change]).ordered == {"BP:X": (Decimal(10), Decimal("2.10"))}


def test_a_change_before_the_add_that_creates_its_line_is_unmatched() -> None:
    """Sequence order, not arrival order: a QI at sequence 1 precedes the AI at 2."""
    po = _doc("850", _po(("BP:X", "10", "2.00")))
    changes = [
        _doc("860", _change("2", ("BP:N", "AI", "5", "1.00"))),
        _doc("860", _change("1", ("BP:N", "QI", "9", None))),
    ]
    got = {(r["kind"], r["record_id"]) for r in evaluate([po, *changes], False, TOL).values()}
    assert got == {("unmatched_change", "P7:1")}


def test_a_change_without_its_po_is_a_missing_document_until_the_po_comes() -> None:
    change = _doc("860", _change("1", ("BP:X", "QI", "4", None)))
    cancel = _doc("860", _change("2", cancel=True))
    results = evaluate([change, cancel], False, TOL).values()
    got = sorted((r["kind"], r["record_type"], r["record_id"], r["details"]) for r in results)
    assert got == [
        ("missing_document", "change_order", "P7:1",
         "change order 1 of PO P7: no PO (850) to amend; its 1 line change(s) not applied"),
        ("missing_document", "change_order", "P7:2",
         "change order 2 of PO P7: no PO (850) to amend; its cancellation not applied"),
    ]  # fmt: skip
    po = _doc("850", _po(("BP:X", "10", "2.00")))
    assert evaluate([change, cancel, po], False, TOL) == {}


PARTIALS = st.lists(st.integers(0, 9), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(invoiced=PARTIALS, shipped=st.integers(0, 30), ordered=st.integers(0, 30))
def test_partial_invoices_accumulate_like_a_running_total(
    invoiced: list[int], shipped: int, ordered: int
) -> None:
    """Plain reference: invoices in date order, a running total per line; an invoice is a
    variance when the total so far passes what shipped or was ordered (or more shipped
    than ordered)."""
    parties = {"po": "P", "buyer": "B", "seller": "S"}
    docs: list[dict[str, Any]] = [
        {"t": "850", "id": "P", **parties, **_po(("BP:X", str(ordered), "1"))},
        {"t": "856", "id": "A", **parties, "lines": [{"ids": ["BP:X"], "q": str(shipped)}]},
    ]
    for n, q in enumerate(invoiced):
        docs.append(
            {"t": "810", "id": f"I{n}", **parties,
             "date": f"2024-11-{10 + n:02d}", "tds": f"{q}.00", "sac": "0",
             "lines": [{"ids": ["BP:X"], "q": str(q), "p": "1"}]}
        )  # fmt: skip
    got = {r["record_id"]: r["kind"] for r in evaluate(reversed(docs), True, TOL).values()}
    running, want = 0, {}
    for n, q in enumerate(invoiced):
        running += q
        bad = running > shipped or running > ordered or shipped > ordered
        want[f"I{n}"] = "quantity_variance" if bad else "matched"
    assert got == want


CHANGES = st.lists(
    st.tuples(
        st.sampled_from(["BP:X", "BP:Y", "BP:Z"]),
        st.sampled_from(["AI", "DI", "QI", "QD", "PC"]),
        st.one_of(st.none(), st.integers(0, 50)),
        st.one_of(st.none(), st.sampled_from(["1.00", "2.50", "4.25"])),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(changes=CHANGES, order=st.randoms(use_true_random=False))
def test_the_po_in_force_is_a_plain_fold_of_the_changes_by_sequence(
    changes: list[tuple[str, str, int | None, str | None]], order: Any
) -> None:
    """Plain reference: a dict of line -> (quantity, price), each change applied in
    change-sequence order, a change to a line not (yet) in it kept as unmatched; the
    engine's input is the same changes shuffled."""
    numbered = [
        _change(str(seq), (line, code, None if q is None else str(q), p))
        for seq, (line, code, q, p) in enumerate(changes, start=1)
    ]
    shuffled = list(numbered)
    order.shuffle(shuffled)
    want: dict[str, tuple[Decimal | None, Decimal | None]] = {"BP:X": (Decimal(10), Decimal(2))}
    unmatched = []
    for seq, (line, code, q, p) in enumerate(changes, start=1):
        quantity, price = (None if q is None else Decimal(q)), (None if p is None else Decimal(p))
        if code == "AI":
            want[line] = (quantity, price)
        elif line not in want:
            unmatched.append((str(seq), line, code))
        else:
            old_q, old_p = want[line]
            if code == "DI":
                want[line] = (Decimal(0), old_p)
            else:
                want[line] = (
                    old_q if quantity is None else quantity,
                    old_p if price is None else price,
                )
    got = OrderLines([_po(("BP:X", "10", "2"))], [], shuffled)
    assert got.ordered == want
    assert [(c["seq"], ln["ids"][0], ln["code"]) for c, ln in got.unmatched] == unmatched
