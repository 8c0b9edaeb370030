"""Business-identity duplicates in the three-way engine: exact resends, conflicts and
near-duplicates, in any arrival order (docs/domain.md §5.6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.models.outcome import Outcome
from streams.domain.state import DictState
from streams.domain.threeway.engine import ThreeWayConfig, ThreeWayEngine
from streams.domain.threeway.rules import PriceTolerance
from tests.unit.domain.threeway.invoices import freight_set, interchange, invoice_set, routed

pytestmark = pytest.mark.unit

CONFIG = ThreeWayConfig(PriceTolerance(Decimal("0.01"), Decimal("1")), 10**6, near_duplicate_days=5)
PO_SET = "ST*850*0001~BEG*00*SA*PO7**20241101~PO1*1*10*EA*5.00*PE*BP*P-1~SE*4*0001~"
Doc = tuple[str, str, dict[str, Any], dict[str, Any] | None]


def inv(control: int, number: str, day: str = "20241103", qty: int = 2, po: str = "PO7") -> Doc:
    (doc,) = routed(
        interchange("WW", "ACME", control, "IN", [invoice_set(number, day, po, [(qty, "5.00")])])
    )
    return doc


def frt(control: int, pro: str, cents: int) -> Doc:
    (doc,) = routed(interchange("FF", "ACME", control, "IM", [freight_set(pro, cents)]))
    return doc


class Run:
    def __init__(self) -> None:
        self.state = DictState()
        self.engine = ThreeWayEngine(self.state, CONFIG)
        self.n = 0

    def send(self, doc: Doc, cid: str | None = None) -> Outcome:
        self.n += 1
        key, idem, summary, ident = doc
        return self.engine.apply(
            summary, key, idem, cid or f"r:{self.n}", 0, self.n, self.n, "", ident
        )

    def exceptions(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key in self.state.data:
            if key.startswith("o:"):
                row = self.state.get(key)
                assert row is not None
                out |= {rid: r for rid, r in row["res"].items() if r["kind"] != "matched"}
        return out

    def kinds(self) -> list[str]:
        return sorted(r["kind"] for r in self.exceptions().values())

    def invoices(self, po: str = "PO7") -> list[str]:
        row = self.state.get(f"o:{po}")
        assert row is not None
        return sorted(d["id"] for d in row["docs"].values() if d["t"] == "810")


def test_exact_resend_in_a_new_interchange_is_a_duplicate_without_effect() -> None:
    run = Run()
    assert run.send(inv(1, "INV-001")) is Outcome.APPLIED
    before = run.state.get("o:PO7")
    assert run.send(inv(2, "inv1")) is Outcome.DUPLICATE  # new envelope, same identity/content
    assert run.state.get("o:PO7") == before  # no new documents, results or events
    assert run.invoices() == ["INV-001"] and run.kinds() == []


def test_owner_reprocessed_after_a_crash_stays_applied() -> None:
    run = Run()
    doc = inv(1, "INV1")
    assert run.send(doc, "a:1") is Outcome.APPLIED
    assert run.send(doc, "a:1") is Outcome.APPLIED
    assert run.send(inv(2, "INV1"), "b:1") is Outcome.DUPLICATE
    assert run.send(inv(2, "INV1"), "b:1") is Outcome.DUPLICATE  # the copy reprocessed


def test_same_identity_other_content_is_a_conflict_and_the_first_stays() -> None:
    run = Run()
    assert run.send(inv(1, "INV1")) is Outcome.APPLIED
    # same vendor/number/date/amount (2 x 5.00 = 1 x 10.00), other lines
    other = routed(
        interchange("WW", "ACME", 2, "IN", [invoice_set("INV1", "20241103", "PO7", [(1, "10.00")])])
    )[0]
    assert run.send(other) is Outcome.DUPLICATE
    (exc,) = run.exceptions().values()
    assert exc["kind"] == "duplicate_conflict" and exc["record_id"] == "INV1"
    assert ["lines", "1:2x5.00", "1:1x10.00"] in exc["differences"]
    assert "in force" in exc["details"] and run.invoices() == ["INV1"]
    row = run.state.get("o:PO7")
    assert row is not None and [e["doc"]["status"] for e in row["out"]] == ["open"]


def test_freight_bill_resend_and_conflict() -> None:
    run = Run()
    assert run.send(frt(1, "PRO9", 1000)) is Outcome.APPLIED
    assert run.send(frt(2, "pro-9", 1000)) is Outcome.DUPLICATE
    assert run.kinds() == []
    assert run.send(frt(3, "PRO9", 1200)) is Outcome.DUPLICATE
    (exc,) = run.exceptions().values()
    assert exc["kind"] == "duplicate_conflict" and exc["record_type"] == "freight_invoice"
    assert ["net_amount_due", "10.00", "12.00"] in exc["differences"]


def test_near_duplicate_is_flagged_for_review_both_applied() -> None:
    run = Run()
    assert run.send(inv(1, "INV1", "20241103")) is Outcome.APPLIED
    assert run.send(inv(2, "INV2", "20241107")) is Outcome.APPLIED  # 4 days later
    assert run.kinds() == ["suspected_duplicate"]
    assert run.invoices() == ["INV1", "INV2"]
    (exc,) = run.exceptions().values()
    assert (exc["record_id"], exc["partner_id"]) == ("INV1", "INV2")


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (lambda: inv(2, "INV2", "20241110"), "7 days apart, beyond 5"),
        (lambda: inv(2, "INV2", qty=3), "another amount"),
    ],
)
def test_not_a_near_duplicate(other: Any, why: str) -> None:
    run = Run()
    run.send(inv(1, "INV1"))
    assert run.send(other()) is Outcome.APPLIED
    assert "suspected_duplicate" not in run.kinds(), why


# Any arrival order: the same documents applied, the same exception ids.
POOL: list[Doc] = [
    inv(1, "INV1"),
    inv(2, "inv-0001"),  # exact resend of INV1
    inv(3, "INV2", "20241104"),  # near-duplicate of INV1
    routed(
        interchange("WW", "ACME", 4, "IN", [invoice_set("INV1", "20241103", "PO7", [(1, "10.00")])])
    )[0],
    frt(5, "PRO1", 500),
    frt(6, "PRO1", 500),
    frt(7, "PRO1", 700),
    routed(interchange("ACME", "WW", 8, "PO", [PO_SET]))[0],
]


def _outcome_of(order: list[int]) -> tuple[set[str], set[str], set[str]]:
    run = Run()
    applied = set()
    for i in order:
        if run.send(POOL[i], f"c:{i}") is Outcome.APPLIED:
            _, _, summary, ident = POOL[i]
            applied.add(ident["key"] if ident else summary["id"])
    exc = run.exceptions()
    return applied, set(exc), {r["kind"] for r in exc.values()}


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(len(POOL))))
def test_any_arrival_order_gives_the_same_identities_and_exceptions(order: list[int]) -> None:
    assert _outcome_of(order) == _outcome_of(list(range(len(POOL))))
    assert _outcome_of(order)[2] >= {"duplicate_conflict", "suspected_duplicate"}
