"""The engine over dict state: outcomes, windows, and order independence (reference)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.models.outcome import Outcome
from streams.domain.models.rates import RateRow
from streams.domain.state import DictState
from streams.domain.threeway.engine import ThreeWayConfig, ThreeWayEngine
from streams.domain.threeway.reference import expected_results, fold, rate_tables
from streams.domain.threeway.rules import PriceTolerance, RateAudit
from tests.unit.domain.threeway.helpers import FIXTURES, rate_rows, routed

pytestmark = pytest.mark.unit

TOL = PriceTolerance(Decimal("0.01"), Decimal("1"))
WINDOW = 1_000_000
# The examples, plus PO changes (860), an 856 of two POs, partial invoices and a 210 to
# re-rate (tests/fixtures/x12); the rate rows go through the same engine, in any order.
DOCS = routed("orders.edi", "freight.edi", FIXTURES / "po_lifecycle.edi")
DOCS += routed(FIXTURES / "rate_audit_210.edi")
# 860s the engine cannot apply (exceptions, whatever the order): a change to a line PO2001
# does not have, and a change of a PO that never comes.
_CHANGE = next(doc for _, _, doc in DOCS if doc["t"] == "860")
DOCS += [
    ("PO2001", "chg-unknown-line",
     {**_CHANGE, "seq": "2", "lines": [{"ids": ["BP:Z-9"], "code": "QI", "q": "4", "p": None}]}),
    ("PO9999", "chg-orphan", {**_CHANGE, "id": "PO9999", "po": "PO9999", "seq": "1"}),
]  # fmt: skip
RATES = rate_rows()
RATES.append(RATES[2].model_copy(update={"rate_cwt": Decimal("14.00")}))  # a new version
RATES += [
    # residential delivery priced at 10 % of the linehaul
    RateRow(kind="accessorial", scac="FDEG", code="RES", amount=Decimal(10), per="percent"),
    # the catch-all lane withdrawn, and a key that never had a version
    RateRow(kind="lane", scac="FDEG", origin="*", destination="*", min_weight=0, action="delete"),
    RateRow(kind="accessorial", scac="FDEG", code="XYZ", action="delete"),
]
RATES.append(RATES[0])  # an exact copy: a duplicate
AUDIT = RateAudit(rate_tables(RATES))


class Run:
    """Feeds documents to one engine, collecting every outbox event the relay would send."""

    def __init__(self) -> None:
        self.state = DictState()
        self.engine = ThreeWayEngine(self.state, ThreeWayConfig(TOL, WINDOW))
        self.events: list[dict[str, Any]] = []
        self.clock = 0

    def _collect(self, before: dict[str, bytes]) -> None:
        for key, raw in self.state.data.items():
            if key.startswith("o:") and before.get(key) != raw:
                self.events += [e["doc"] for e in self.state.get(key)["out"]]  # type: ignore[index]

    def rate(self, i: int) -> Outcome:
        row = RATES[i]
        before = dict(self.state.data)
        self.clock += 1
        outcome = self.engine.apply_rate(
            row.scac, row.rate_key, row.version(), row.idempotency_key, f"rates:{i}", self.clock
        )
        self._collect(before)
        return outcome

    def send(self, i: int, copy: int = 0) -> Outcome:
        key, idem, doc = DOCS[i]
        before = dict(self.state.data)
        self.clock += 1
        outcome = self.engine.apply(doc, key, idem, f"run{copy}:{i}", 0, self.clock, self.clock)
        self._collect(before)
        return outcome

    def tick(self, now: int, final: bool = False) -> None:
        before = dict(self.state.data)
        self.engine.tick(0, now, final)
        self._collect(before)


def test_second_copy_is_a_duplicate_and_the_owner_is_applied_again() -> None:
    run = Run()
    assert run.send(0) is Outcome.APPLIED
    assert run.send(0) is Outcome.APPLIED  # the owner redelivered after a crash
    assert run.send(0, copy=1) is Outcome.DUPLICATE


def test_window_closes_on_deadline_and_late_documents_resolve_it() -> None:
    run = Run()
    order = [i for i, (key, _, _) in enumerate(DOCS) if key == "PO1001"]
    invoice = next(i for i in order if DOCS[i][2]["t"] == "810")
    run.send(invoice)
    run.tick(run.clock + WINDOW - 1)
    assert fold(run.events) == {}  # window still open
    run.tick(run.clock + WINDOW + 1)
    assert {r["kind"] for r in fold(run.events).values()} == {"missing_document"}
    for i in order:
        if i != invoice:
            run.send(i)
    assert {r["kind"] for r in fold(run.events).values()} == {"matched"}
    missing = [e for e in run.events if e["kind"] == "missing_document"]
    # the PO came first: the exception is updated (only the ASN missing), then resolved
    assert [e["status"] for e in missing] == ["open", "open", "resolved"]
    assert [m for m, _, _ in missing[1]["differences"]] == ["missing"]
    assert "no ship notice (856)" in missing[1]["details"]
    assert "PO (850)" not in missing[1]["details"]
    assert len({e["event_id"] for e in run.events}) == len(run.events)


def test_a_final_tick_closes_every_window() -> None:
    run = Run()
    for i in range(len(DOCS)):
        run.send(i)
    live = fold(run.events).values()
    assert "missing_document" not in {r["kind"] for r in live if r["record_type"] == "invoice"}
    assert {(r["kind"], r["record_id"]) for r in live if r["record_type"] == "change_order"} == {
        ("unmatched_change", "PO2001:2"),
        ("missing_document", "PO9999:1"),
    }
    run.tick(0, final=True)
    assert fold(run.events) == expected_results(DOCS, TOL, RateAudit({}))


@settings(max_examples=40, deadline=None)
@given(
    order=st.permutations(range(len(DOCS) + len(RATES))),
    copies=st.lists(st.integers(0, len(DOCS) - 1), max_size=5),
    tick_after=st.integers(0, len(DOCS)),
)
def test_results_do_not_depend_on_arrival_order(
    order: list[int], copies: list[int], tick_after: int
) -> None:
    """Documents and rate rows interleaved in any order (a rate row's versions keep their
    file order: they share a key, hence a partition); 210s before their table included."""
    rates = iter(range(len(RATES)))
    run = Run()
    for n, i in enumerate(order):
        if n == tick_after:
            run.tick(run.clock + 10 * WINDOW)  # some windows close mid-stream
        if i < len(DOCS):
            run.send(i)
        else:
            run.rate(next(rates))
    for i in copies:
        assert run.send(i, copy=1) is Outcome.DUPLICATE
    run.tick(0, final=True)
    assert fold(run.events) == expected_results(DOCS, TOL, AUDIT)


def test_a_rate_table_after_its_bill_rerates_it_and_copies_are_duplicates() -> None:
    run = Run()
    bill = next(i for i, (key, _, _) in enumerate(DOCS) if key == "210:PRO601")
    run.send(bill)
    assert {r["kind"] for r in fold(run.events).values()} == {"matched"}
    for i in range(len(RATES) - 1):
        assert run.rate(i) is Outcome.APPLIED
    assert run.rate(len(RATES) - 1) is Outcome.DUPLICATE
    kinds = {(r["kind"], r["line"]) for r in fold(run.events).values()}
    assert kinds == {
        ("matched", ""),
        ("overbilled", "linehaul"),  # 180.00 against 168.00 once the rate went down
        ("overbilled", "fuel"),  # 36.00 against 20 % of 168.00 = 33.60
        ("overbilled", "LFT"),
        ("overbilled", "RES"),  # 24.50 against 10 % of 168.00 = 16.80
    }
