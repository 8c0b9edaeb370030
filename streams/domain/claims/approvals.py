"""Analyst decisions on a claim version: an approval, a rejection (or the withdrawal of
either) is a record on the claims input, keyed by vendor like the claim, never an edit of
state (docs/domain.md §10.6, docs/claims.md "Analyst approval").

A decision names exactly one claim version. Of a version's decisions the latest counts
(``decided_at``, then the idempotency key): a function of the set of decisions, not of
their arrival order. Whether a ruling takes effect depends on the version as it is
evaluated (``ruling_problem``), so a decision that arrives before its claim waits for it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from streams.domain.claims.models import MAX_AMOUNT_DECIMALS, _Record
from streams.domain.models.fields import AwareUtc, DecimalStr, decimal_places, rule


class Action(StrEnum):
    APPROVE = "approve"  # settle the version (the claimed amount, or less)
    REJECT = "reject"  # settle nothing for the version, whatever the engine decided
    WITHDRAW = "withdraw"  # the version's approval or rejection no longer counts


RULINGS = frozenset({Action.APPROVE, Action.REJECT})


class ClaimDecision(_Record):
    """An analyst's approval or rejection of a claim version (or the withdrawal of one)."""

    record: Action
    amount: DecimalStr | None = None  # None: the claimed amount
    decided_by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    decided_at: AwareUtc

    @field_validator("amount", mode="before")
    @classmethod
    def _empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is None:
            return None
        if info.data.get("record") in (Action.WITHDRAW, Action.REJECT):
            what = "a withdrawal" if info.data["record"] is Action.WITHDRAW else "a rejection"
            raise rule("{what} has no amount, got {value}", what=what, value=str(value))
        if value <= 0:
            raise rule("amount must be positive, got {value}", value=str(value))
        if decimal_places(value) > MAX_AMOUNT_DECIMALS:
            raise rule("amount {value} has more than 2 decimal places", value=str(value))
        return value

    @property
    def idempotency_key(self) -> str:
        """Of the decision's content: the same decision read twice is a duplicate; a new
        decision (another time) is a record of its own."""
        text = ":".join(
            (
                "claims-decision",
                self.claim_id,
                str(self.version),
                self.record.value,
                "" if self.amount is None else str(self.amount),
                self.decided_by,
                self.reason,
                at_text(self.decided_at),
            )
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_doc(self) -> dict[str, Any]:
        """The decision as the engine keeps it in the version document."""
        return {
            "a": self.record.value,
            "v": self.vendor_id,
            "m": "" if self.amount is None else str(self.amount),
            "by": self.decided_by,
            "r": self.reason,
            "at": at_text(self.decided_at),
            "k": self.idempotency_key,
        }


def at_text(at: datetime) -> str:
    """UTC, fixed width: decisions order by this text."""
    return at.isoformat(timespec="microseconds")


def later(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    """Whether decision ``new`` supersedes ``old`` (the latest ``decided_at``, then key)."""
    return old is None or (new["at"], new["k"]) > (old["at"], old["k"])


def approved_amount(decision: dict[str, Any], claimed: Decimal) -> Decimal:
    return Decimal(decision["m"]) if decision["m"] else claimed


def ruling_of(decision: dict[str, Any] | None) -> dict[str, Any] | None:
    """The version's latest decision if it is an approval or a rejection (a withdrawal, or
    no decision: None)."""
    return decision if decision is not None and decision["a"] in RULINGS else None


def rejection_shown(ruling: dict[str, Any] | None) -> tuple[str, str]:
    """``rejected_by`` and ``rejection_reason`` of a result whose ruling is a rejection."""
    if ruling is None or ruling["a"] != Action.REJECT:
        return "", ""
    return ruling["by"], ruling["r"]


def ruling_problem(
    claim_id: str,
    version: int,
    decision: dict[str, Any],
    *,
    vendor: str,
    current: int,
    received: int,
    line_count: int,
    claimed: Decimal,
    double_claimed: int,
) -> str:
    """Why an approval or rejection does not take effect on its version ('' when it does):
    the text of the open ``claim_approval_invalid`` exception, naming the claim, version
    and value. ``vendor``: the claim header's, '' before the header arrived."""
    noun = "approval" if decision["a"] == Action.APPROVE else "rejection"
    who = f"{noun} of claim {claim_id} version {version} by {decision['by']}"
    if version < current:
        return f"{who}: version {version} is superseded by version {current}"
    if not vendor:
        return f"{who}: no such claim version has arrived (no header)"
    if vendor != decision["v"]:
        return f"{who}: the {noun} names vendor {decision['v']}, the claim is vendor {vendor}'s"
    if received < line_count:
        return f"{who}: the version is incomplete, {received} of {line_count} lines received"
    if decision["a"] == Action.REJECT:
        return ""
    if double_claimed:
        return (
            f"{who}: {double_claimed} line(s) claim a sale another claim owns "
            "(claim_line_double_claimed): an approval cannot pay a sale twice"
        )
    amount = approved_amount(decision, claimed)
    if amount > claimed:
        return f"{who}: amount {amount} is above the claimed {claimed}"
    return ""
