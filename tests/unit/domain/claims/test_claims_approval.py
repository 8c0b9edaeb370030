"""Analyst approvals on worked examples (docs/domain.md §10.6): what settles, what an
approval cannot do, arrival before the claim, amendments, withdrawals, copies, and the
decisions layout of the claims input."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from streams.domain.claims.approvals import Action, ClaimDecision
from streams.domain.claims.outbox import outbox_entries, outbox_key, result_from_doc
from streams.domain.claims.results import ClaimsOutput, SettlementKind
from streams.domain.claims.rules import ClaimExceptionKind as K
from streams.domain.claims.rules import ClaimStatus, Tolerances
from streams.errors import Category, RecordError
from streams.formats import avro
from streams.formats.claims import DECISION_COLUMNS, decision_row, parse_claim_row
from streams.relay.claims import exception_record
from tests.unit.domain.claims.test_claims_engine import AGREEMENT, World, header, line, sale

pytestmark = pytest.mark.unit

S, R = SettlementKind.SETTLEMENT, SettlementKind.SETTLEMENT_REVERSAL


def decision(
    version: int = 1,
    amount: str | None = None,
    minute: int = 0,
    action: Action = Action.APPROVE,
    claim: str = "C1",
) -> ClaimDecision:
    return ClaimDecision(
        record=action,
        claim_id=claim,
        version=version,
        vendor_id="V1",
        amount=Decimal(amount) if amount is not None else None,
        decided_by="ana",
        reason="checked with the vendor",
        decided_at=datetime(2026, 3, 1, 9, minute, tzinfo=UTC),
    )


class Analyst(World):
    def decide(self, *decisions: ClaimDecision) -> ClaimsOutput:
        for d in decisions:
            self.claims.apply_decision(d, self.ref().record_id)
        out = self.claims.settle()
        self.out.extend(out)
        return out

    def refusals(self) -> dict[tuple[str, int], str]:
        """The open claim_approval_invalid exceptions, latest event of each."""
        latest = {}
        for e in self.out.exceptions:
            if e.kind is K.APPROVAL_INVALID:
                latest[(e.claim_id, e.version)] = e
        return {k: e.details for k, e in latest.items() if e.open}


def disputed(w: Analyst) -> None:
    w.feed(AGREEMENT, sale("T1", 20))  # 10.00 accrued
    w.feed(header("C1", "14.00", 1), line("C1", "T1", 20))  # 4.00 over: disputed
    assert w.status("C1") is ClaimStatus.DISPUTED


def test_an_approved_disputed_claim_settles_the_approved_amount_once() -> None:
    w = Analyst()
    disputed(w)
    out = w.decide(decision(amount="10.00"))
    assert w.status("C1") is ClaimStatus.APPROVED
    assert [(s.kind, s.amount, s.settled_total) for s in out.settlements] == [
        (S, Decimal("10.00"), Decimal("10.00"))
    ]
    (result,) = out.results
    assert (result.approved_by, result.approved_amount, result.approval_reason) == (
        "ana",
        Decimal("10.00"),
        "checked with the vendor",
    )
    assert out.exceptions == []  # the dispute stays open: it is what was approved despite
    # the same decision again (a copy) is a duplicate; a re-evaluation settles nothing
    assert w.claims.apply_decision(decision(amount="10.00"), "copy").value == "duplicate"
    w.claims.sweep()
    assert w.decide().settlements == []
    # a later approval of the claimed amount settles the difference
    out = w.decide(decision(minute=5))
    assert [(s.kind, s.amount) for s in out.settlements] == [(S, Decimal("4.00"))]


def test_an_approval_before_its_claim_waits_for_it() -> None:
    w = Analyst()
    w.feed(AGREEMENT, sale("T1", 20))
    w.decide(decision())
    assert w.refusals() == {
        ("C1", 1): "approval of claim C1 version 1 by ana: no such claim version has "
        "arrived (no header)"
    }
    w.feed(header("C1", "14.00", 1))
    assert "incomplete, 0 of 1 lines received" in w.refusals()[("C1", 1)]
    w.feed(line("C1", "T1", 20))
    assert w.status("C1") is ClaimStatus.APPROVED and w.refusals() == {}
    assert [(s.kind, s.amount) for s in w.out.settlements] == [(S, Decimal("14.00"))]


def test_an_amendment_supersedes_the_approved_version_and_reverses_it() -> None:
    w = Analyst()
    disputed(w)
    w.decide(decision())
    w.feed(header("C1", "10.00", 1, version=2), line("C1", "T1", 20, version=2))
    assert w.status("C1", 1) is ClaimStatus.SUPERSEDED
    assert w.status("C1", 2) is ClaimStatus.MATCHED
    assert [(s.version, s.kind, s.amount) for s in w.out.settlements] == [
        (1, S, Decimal("14.00")),
        (1, R, Decimal("-14.00")),
        (2, S, Decimal("10.00")),
    ]
    assert w.refusals() == {
        ("C1", 1): "approval of claim C1 version 1 by ana: version 1 is superseded by version 2"
    }


def test_an_approval_cannot_pay_a_sale_twice_nor_more_than_claimed() -> None:
    w = Analyst(Tolerances(over_amount=Decimal(100), over_percent=Decimal(1000)))
    w.feed(AGREEMENT, sale("T1", 20))
    w.feed(header("C0", "10.00", 1), line("C0", "T1", 20))
    w.feed(header("C1", "10.00", 1), line("C1", "T1", 20))  # the sale is C0's
    w.decide(decision())
    assert w.status("C1") is ClaimStatus.DISPUTED
    assert "1 line(s) claim a sale another claim owns" in w.refusals()[("C1", 1)]
    w.decide(decision(claim="C0", amount="10.01"))
    assert w.refusals()[("C0", 1)] == (
        "approval of claim C0 version 1 by ana: amount 10.01 is above the claimed 10.00"
    )
    assert w.status("C0") is ClaimStatus.MATCHED  # it settles as matched, not approved
    w.decide(decision(claim="C0", minute=1).model_copy(update={"vendor_id": "V2"}))
    assert w.refusals()[("C0", 1)] == (
        "approval of claim C0 version 1 by ana: the approval names vendor V2, the claim is "
        "vendor V1's"
    )
    assert sum(s.amount for s in w.out.settlements) == Decimal("10.00")
    # a rejection pays nothing: a double-claimed line does not stand in its way
    w.decide(decision(minute=2, action=Action.REJECT))
    assert w.status("C1") is ClaimStatus.REJECTED and ("C1", 1) not in w.refusals()


def test_a_withdrawal_reverses_an_approval_and_a_matched_claim_can_be_approved_for_less() -> None:
    w = Analyst()
    disputed(w)
    w.decide(decision(amount="12.00"))
    out = w.decide(decision(minute=1, action=Action.WITHDRAW))
    assert w.status("C1") is ClaimStatus.DISPUTED
    assert [(s.kind, s.amount) for s in out.settlements] == [(R, Decimal("-12.00"))]
    assert out.results[0].approved_by == ""
    # an older approval arriving late does not override the newer withdrawal
    w.decide(decision(amount="9.00", minute=0).model_copy(update={"reason": "late copy"}))
    assert w.status("C1") is ClaimStatus.DISPUTED
    w = Analyst()
    w.feed(AGREEMENT, sale("T1", 20), header("C1", "10.00", 1), line("C1", "T1", 20))
    out = w.decide(decision(amount="8.00"))
    assert w.status("C1") is ClaimStatus.APPROVED
    assert [(s.kind, s.amount) for s in out.settlements] == [(R, Decimal("-2.00"))]


def test_a_rejection_settles_nothing_and_reverses_what_a_matched_claim_settled() -> None:
    w = Analyst()
    w.feed(AGREEMENT, sale("T1", 20), header("C1", "10.00", 1), line("C1", "T1", 20))
    assert w.status("C1") is ClaimStatus.MATCHED
    out = w.decide(decision(action=Action.REJECT))
    assert w.status("C1") is ClaimStatus.REJECTED
    assert [(s.kind, s.amount, s.settled_total) for s in out.settlements] == [
        (R, Decimal("-10.00"), Decimal("0.00"))
    ]
    (result,) = out.results
    assert (result.rejected_by, result.rejection_reason, result.approved_by) == (
        "ana",
        "checked with the vendor",
        "",
    )
    # withdrawn: the engine's own decision again, and the claim settles as matched
    out = w.decide(decision(minute=1, action=Action.WITHDRAW))
    assert w.status("C1") is ClaimStatus.MATCHED
    assert [(s.kind, s.amount) for s in out.settlements] == [(S, Decimal("10.00"))]
    assert out.results[0].rejected_by == ""


def test_a_rejection_replaces_an_approval_and_one_of_no_claim_is_refused() -> None:
    w = Analyst()
    disputed(w)
    w.decide(decision(amount="10.00"))
    out = w.decide(decision(minute=2, action=Action.REJECT))
    assert w.status("C1") is ClaimStatus.REJECTED and w.refusals() == {}
    assert [(s.kind, s.amount) for s in out.settlements] == [(R, Decimal("-10.00"))]
    # a rejection of a version that never came, or of another vendor's claim, is refused
    w.decide(decision(claim="C9", action=Action.REJECT))
    assert w.refusals()[("C9", 1)] == (
        "rejection of claim C9 version 1 by ana: no such claim version has arrived (no header)"
    )


def test_the_decisions_layout_round_trips_and_names_bad_values() -> None:
    d = decision(amount="12.50")
    raw = ",".join(decision_row(d)).encode()
    assert parse_claim_row(list(DECISION_COLUMNS), raw, "x") == d
    bad = raw.replace(b"12.50", b"12.505")
    with pytest.raises(RecordError) as err:
        parse_claim_row(list(DECISION_COLUMNS), bad, "approve-C1.csv line 2")
    assert err.value.category is Category.INVALID_VALUE
    assert err.value.message == (
        "approve-C1.csv line 2: field amount='12.505': amount 12.505 has more than 2 decimal places"
    )
    withdraw = raw.replace(b"approve", b"withdraw")
    with pytest.raises(RecordError, match=r"a withdrawal has no amount, got 12\.50"):
        parse_claim_row(list(DECISION_COLUMNS), withdraw, "x")
    reject = raw.replace(b"approve", b"reject")
    with pytest.raises(RecordError, match=r"a rejection has no amount, got 12\.50"):
        parse_claim_row(list(DECISION_COLUMNS), reject, "x")


def test_an_approved_result_and_a_refusal_travel_through_the_outbox_and_the_relay() -> None:
    w = Analyst()
    disputed(w)
    out = w.decide(decision(amount="10.00"), decision(version=3, minute=1))
    docs = outbox_entries(out)
    (approved,) = [d for d in docs[outbox_key("C1", 1)] if d["type"] == "result"]
    assert approved["approval"] == {
        "by": "ana",
        "amount": "10.00",
        "reason": "checked with the vendor",
    }
    assert result_from_doc(approved) == out.results[0]
    (refusal,) = [d for d in docs[outbox_key("C1", 3)] if d["type"] == "exception"]
    event = avro.decode("match_exception", exception_record(refusal, datetime.now(UTC)))
    assert (
        event["kind"],
        event["status"],
        event["record_id"],
        event["version"],
        event["seller"],
    ) == ("claim_approval_invalid", "open", "C1", 3, "V1")
    # a rejection travels as ``rejection`` on the result, and reads back the same
    out = w.decide(decision(minute=2, action=Action.REJECT))
    (rejected,) = [d for d in outbox_entries(out)[outbox_key("C1", 1)] if d["type"] == "result"]
    assert (rejected["status"], rejected["rejection"]) == (
        "rejected",
        {"by": "ana", "reason": "checked with the vendor"},
    )
    assert "approval" not in rejected and result_from_doc(rejected) == out.results[0]
