"""Business-identity duplicates through both stages: the identity book decides each copy,
the three-way engine gets the originals (and retractions); exact resends, conflicts
(another PO included) and near-duplicates, in any arrival order (docs/domain.md §5.6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.models.outcome import Outcome
from streams.domain.state import DictState
from streams.domain.threeway import identities
from streams.domain.threeway.engine import ThreeWayConfig, ThreeWayEngine
from streams.domain.threeway.identities import IdentityBook, copy_of
from streams.domain.threeway.reference import expected_results
from streams.domain.threeway.rules import PriceTolerance
from tests.unit.domain.threeway.invoices import freight_set, interchange, invoice_set, routed

pytestmark = pytest.mark.unit

TOL = PriceTolerance(Decimal("0.01"), Decimal("1"))
CONFIG = ThreeWayConfig(TOL, 10**6, near_duplicate_days=5)
Doc = tuple[str, str, dict[str, Any], dict[str, Any] | None]


def po_set(po: str) -> str:
    return f"ST*850*0001~BEG*00*SA*{po}**20241101~PO1*1*10*EA*5.00*PE*BP*P-1~SE*4*0001~"


def asn_set(po: str) -> str:
    segs = [f"BSN*00*S{po}*20241102*1430", "HL*1**S", "HL*2*1*O", f"PRF*{po}", "HL*3*2*I"]
    segs += ["LIN*1*BP*P-1", "SN1**4*EA"]
    return "ST*856*0001~" + "".join(f"{s}~" for s in segs) + f"SE*{len(segs) + 2}*0001~"


def inv(control: int, number: str, day: str = "20241103", qty: int = 2, po: str = "PO7") -> Doc:
    (doc,) = routed(
        interchange("WW", "ACME", control, "IN", [invoice_set(number, day, po, [(qty, "5.00")])])
    )
    return doc


def inv_lines(control: int, number: str, lines: list[tuple[int, str]], po: str = "PO7") -> Doc:
    (doc,) = routed(
        interchange("WW", "ACME", control, "IN", [invoice_set(number, "20241103", po, lines)])
    )
    return doc


def frt(control: int, pro: str, cents: int, scac: str = "FDEG") -> Doc:
    (doc,) = routed(interchange("FF", "ACME", control, "IM", [freight_set(pro, cents, scac)]))
    return doc


def buyer(control: int, fid: str, body: str) -> Doc:
    (doc,) = routed(interchange("ACME", "WW", control, fid, [body]))
    return doc


class Stages:
    """The identity stage and the engine stage over dict state. Messages to the engine
    wait in a queue (another partition, another pace) until ``deliver``."""

    def __init__(self) -> None:
        self.ids, self.orders = DictState(), DictState()
        self.book = IdentityBook(self.ids)
        self.engine = ThreeWayEngine(self.orders, CONFIG)
        self.outcomes: dict[str, str] = {}  # correlation id -> latest outcome
        self.queue: list[tuple[str, tuple[Any, ...]]] = []
        self.n = 0

    def send(
        self, doc: Doc, cid: str, ingested: int | None = None, line: int | None = None
    ) -> Outcome:
        self.n += 1
        key, idem, summary, ident = doc
        if ident is None:
            self.queue.append(("apply", (summary, key, idem, cid)))
            return Outcome.APPLIED  # decided by the engine; these are never duplicates here
        where = (cid, "f.edi", "", self.n if line is None else line, "x12-edi")
        at = self.n if ingested is None else ingested
        copy = copy_of(summary, ident, idem, key, key, where, at)
        verdict = self.book.apply(ident, copy, self.n)
        self.outcomes[cid] = verdict.outcome.value
        if verdict.retract is not None:
            old = verdict.retract
            self.outcomes[old["c"]] = Outcome.DUPLICATE.value
            self.queue.append(("retract", (old["key"], old["idem"])))
        if verdict.forward:
            self.queue.append(("apply", (summary, key, idem, cid)))
        return verdict.outcome

    def deliver(self, count: int | None = None) -> None:
        todo = self.queue if count is None else self.queue[:count]
        self.queue = self.queue[len(todo) :]
        for op, args in todo:
            self.n += 1
            if op == "retract":
                self.engine.retract(*args, self.n)
            else:
                summary, key, idem, cid = args
                self.engine.apply(summary, key, idem, cid, 0, self.n, self.n)

    def results(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key in sorted(self.orders.data) + sorted(self.ids.data):
            if key.startswith(("o:", "i:")):
                row = self.orders.get(key) if key.startswith("o:") else self.ids.get(key)
                assert row is not None
                out |= row["res"]
        return out

    def exceptions(self) -> dict[str, dict[str, Any]]:
        return {rid: r for rid, r in self.results().items() if r["kind"] != "matched"}

    def kinds(self) -> list[str]:
        return sorted(r["kind"] for r in self.exceptions().values())

    def invoices(self, po: str = "PO7") -> list[str]:
        row = self.orders.get(f"o:{po}")
        return sorted(d["id"] for d in (row or {"docs": {}})["docs"].values() if d["t"] == "810")


def test_exact_resend_in_a_new_interchange_is_a_duplicate_without_effect() -> None:
    run = Stages()
    assert run.send(inv(1, "INV-001"), "a") is Outcome.APPLIED
    assert run.send(inv(2, "inv1"), "b") is Outcome.DUPLICATE  # new envelope, same content
    run.deliver()
    assert run.invoices() == ["INV-001"] and run.kinds() == []


def test_owner_and_copy_reprocessed_after_a_crash_decide_the_same() -> None:
    run = Stages()
    assert run.send(inv(1, "INV1"), "a:1", 5) is Outcome.APPLIED
    assert run.send(inv(1, "INV1"), "a:1", 5) is Outcome.APPLIED  # the owner again
    assert run.send(inv(1, "INV1"), "z:9", 5) is Outcome.DUPLICATE  # its envelope, re-ingested
    assert run.send(inv(2, "INV1"), "b:1", 9) is Outcome.DUPLICATE
    assert run.send(inv(2, "INV1"), "b:1", 9) is Outcome.DUPLICATE  # the copy again
    # an earlier-ingested copy displaces the owner; reprocessed, it retracts it again
    assert run.send(inv(3, "INV1"), "c:1", 1) is Outcome.APPLIED
    queued = len(run.queue)
    assert run.send(inv(3, "INV1"), "c:1", 1) is Outcome.APPLIED
    assert run.queue[queued:] == run.queue[queued - 2 : queued]  # same retract, same apply
    run.deliver()
    want = {"a:1": "duplicate", "z:9": "duplicate", "b:1": "duplicate", "c:1": "applied"}
    assert run.outcomes == want
    assert run.invoices() == ["INV1"] and run.kinds() == []


def test_same_identity_other_content_is_a_conflict_and_the_original_stays() -> None:
    run = Stages()
    assert run.send(inv(1, "INV1"), "a") is Outcome.APPLIED
    # same vendor/number/date/amount (2 x 5.00 = 1 x 10.00), other lines
    assert run.send(inv_lines(2, "INV1", [(1, "10.00")]), "b") is Outcome.DUPLICATE
    (exc,) = run.exceptions().values()
    assert exc["kind"] == "duplicate_conflict" and exc["record_id"] == "INV1"
    assert ["lines", "1:2x5.00", "1:1x10.00"] in exc["differences"]
    assert "in force" in exc["details"] and "segment 1" in exc["details"]
    row = run.ids.get(next(k for k in run.ids.data if k.startswith("i:")))
    assert row is not None and [e["doc"]["status"] for e in row["out"]] == ["open"]
    run.deliver()
    assert run.invoices() == ["INV1"]


def test_a_copy_naming_another_po_is_a_conflict_and_stays_out_of_that_order() -> None:
    run = Stages()
    for i, body in enumerate((po_set("PO7"), asn_set("PO7"), po_set("PO8"), asn_set("PO8"))):
        run.send(buyer(10 + i, "PO" if body.startswith("ST*850") else "SH", body), f"b{i}")
    assert run.send(inv(1, "INV1", po="PO7"), "a") is Outcome.APPLIED
    assert run.send(inv(2, "inv-1", po="PO8"), "b") is Outcome.DUPLICATE  # billed twice
    run.deliver()
    assert run.invoices("PO7") == ["INV1"] and run.invoices("PO8") == []
    (exc,) = run.exceptions().values()
    assert exc["kind"] == "duplicate_conflict" and exc["po"] == "PO7"
    assert ["po_number", "PO7", "PO8"] in exc["differences"]


def test_the_original_arriving_last_takes_its_place() -> None:
    run = Stages()
    run.send(buyer(10, "PO", po_set("PO8")), "p8")
    run.send(buyer(11, "SH", asn_set("PO8")), "s8")
    assert run.send(inv(2, "INV1", po="PO8"), "copy", ingested=20) is Outcome.APPLIED
    run.deliver()
    assert run.invoices("PO8") == ["INV1"]
    matched = [r for r in run.results().values() if r["kind"] == "matched"]
    assert [r["po"] for r in matched] == ["PO8"]
    assert run.send(inv(1, "INV1", po="PO7"), "orig", ingested=10) is Outcome.APPLIED
    run.deliver()
    assert run.outcomes == {"copy": "duplicate", "orig": "applied"}
    assert run.invoices("PO8") == [] and run.invoices("PO7") == ["INV1"]
    assert [r["kind"] for r in run.results().values()] == ["duplicate_conflict"]  # PO8 unmatched


def test_a_retraction_before_its_document_keeps_it_out() -> None:
    run = Stages()
    run.engine.retract("PO7", inv(1, "INV1")[1], 1)
    key, idem, summary, _ = inv(1, "INV1")
    run.engine.apply(summary, key, idem, "late", 0, 2, 2)
    assert run.invoices() == []


def test_freight_bill_resend_and_conflict_across_routing_keys() -> None:
    run = Stages()
    assert run.send(frt(1, "PRO9", 1000), "a") is Outcome.APPLIED
    assert run.send(frt(2, "pro-09", 1000, scac="fdeg"), "b") is Outcome.DUPLICATE
    assert run.kinds() == []
    assert run.send(frt(3, "PRO0009", 1200), "c") is Outcome.DUPLICATE  # routed 210:PRO0009
    (exc,) = run.exceptions().values()
    assert exc["kind"] == "duplicate_conflict" and exc["record_type"] == "freight_invoice"
    assert ["net_amount_due", "10.00", "12.00"] in exc["differences"]


def test_near_duplicate_is_flagged_for_review_both_applied() -> None:
    run = Stages()
    assert run.send(inv(1, "INV1", "20241103"), "a") is Outcome.APPLIED
    assert run.send(inv(2, "INV2", "20241107"), "b") is Outcome.APPLIED  # 4 days later
    run.deliver()
    assert run.kinds() == ["suspected_duplicate"]
    assert run.invoices() == ["INV1", "INV2"]
    (exc,) = run.exceptions().values()
    assert (exc["record_id"], exc["partner_id"]) == ("INV1", "INV2")


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (lambda: inv(2, "INV2", "20241110"), "7 days apart, beyond 5"),
        (lambda: inv(2, "INV2", qty=3), "another amount"),
        (lambda: inv(2, "INV2", po="PO8"), "another PO"),
    ],
)
def test_not_a_near_duplicate(other: Any, why: str) -> None:
    run = Stages()
    run.send(inv(1, "INV1"), "a")
    assert run.send(other(), "b") is Outcome.APPLIED
    run.deliver()
    assert "suspected_duplicate" not in run.kinds(), why


# (document, ingest time): the ingest times decide the originals, not the arrival order.
POOL: list[tuple[Doc, int]] = [
    (inv(1, "INV1"), 30),
    (inv(2, "inv-0001"), 10),  # exact resend of INV1, ingested first: the original
    (inv(3, "INV2", "20241104"), 40),  # near-duplicate of INV1
    (inv_lines(4, "INV1", [(1, "10.00")]), 20),  # conflicting copy: other lines
    (inv(5, "INV1", po="PO8"), 25),  # conflicting copy naming PO8
    (inv(6, "INV3", po="PO8"), 60),
    (inv(7, "INV3", po="PO7"), 50),  # INV3 billed against PO7 too, ingested first
    (frt(8, "PRO1", 500), 70),
    (frt(9, "PRO01", 500, scac="fdeg"), 80),
    (frt(10, "PRO1", 700), 65),
    (buyer(11, "PO", po_set("PO7")), 0),
    (buyer(12, "SH", asn_set("PO7")), 0),
    (buyer(13, "PO", po_set("PO8")), 0),
    (buyer(14, "SH", asn_set("PO8")), 0),
]


def cid(i: int) -> str:
    return f"c:{i}"


def reference() -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Every copy at once: the identity reference, then the plain three-way reference
    over the originals and the other documents."""
    copies = []
    for i, ((key, idem, summary, ident), ingested) in enumerate(POOL):
        if ident is not None:
            where = (cid(i), "f.edi", "", i, "x12-edi")
            copies.append((ident, copy_of(summary, ident, idem, key, key, where, ingested)))
    outcomes, live = identities.reference(copies)
    kept = []
    for i, ((key, idem, summary, ident), _) in enumerate(POOL):
        if ident is None or outcomes[cid(i)] == "applied":
            kept.append((key, idem, {**summary, "c": cid(i), "tp": ""}))
    live |= expected_results(kept, TOL, None, CONFIG.near_duplicate_days)
    return outcomes, live


def test_reference_covers_every_verdict() -> None:
    outcomes, live = reference()
    assert sorted(o for o in outcomes.values()) == ["applied"] * 4 + ["duplicate"] * 6
    kinds = sorted(r["kind"] for r in live.values() if r["kind"] != "matched")
    # INV1 (other lines; PO8), INV3 (PO8), PRO1; PO7 invoiced 6 of 4 shipped; 3 pairs of PO7
    want = ["duplicate_conflict"] * 3 + ["quantity_variance"] + ["suspected_duplicate"] * 3
    assert kinds == want


@settings(max_examples=80, deadline=None)
@given(st.permutations(range(len(POOL))), st.lists(st.integers(0, 3), min_size=len(POOL)))
def test_any_arrival_order_gives_the_reference_verdicts(order: list[int], paces: list[int]) -> None:
    run = Stages()
    for i, pace in zip(order, paces, strict=False):
        doc, ingested = POOL[i]
        run.send(doc, cid(i), ingested, i)
        run.deliver(pace)  # the engine stage lags the identity stage by a varying amount
    run.deliver()
    run.engine.tick(0, 10**9, final=True)
    want_outcomes, want_live = reference()
    assert {c: o for c, o in run.outcomes.items()} == want_outcomes
    assert run.results() == want_live
