"""The engine over dict state: outcomes, windows, and order independence (reference)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.models.outcome import Outcome
from streams.domain.state import DictState
from streams.domain.threeway.engine import ThreeWayConfig, ThreeWayEngine
from streams.domain.threeway.reference import expected_results, fold
from streams.domain.threeway.rules import PriceTolerance
from tests.unit.domain.threeway.helpers import routed

pytestmark = pytest.mark.unit

TOL = PriceTolerance(Decimal("0.01"), Decimal("1"))
WINDOW = 1_000_000
DOCS = routed("orders.edi", "freight.edi")


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
    assert "missing_document" not in {r["kind"] for r in fold(run.events).values()}
    run.tick(0, final=True)
    assert fold(run.events) == expected_results(DOCS, TOL)


@settings(max_examples=40, deadline=None)
@given(
    order=st.permutations(range(len(DOCS))),
    copies=st.lists(st.integers(0, len(DOCS) - 1), max_size=5),
    tick_after=st.integers(0, len(DOCS)),
)
def test_results_do_not_depend_on_arrival_order(
    order: list[int], copies: list[int], tick_after: int
) -> None:
    run = Run()
    for n, i in enumerate(order):
        if n == tick_after:
            run.tick(run.clock + 10 * WINDOW)  # some windows close mid-stream
        run.send(i)
    for i in copies:
        assert run.send(i, copy=1) is Outcome.DUPLICATE
    run.tick(0, final=True)
    assert fold(run.events) == expected_results(DOCS, TOL)
