"""The claim rules shared by the engine and the reports (docs/domain.md §10).

Header: the difference ``claimed - accrued`` is within tolerance when it is no larger than
the absolute amount **and** no larger than the percentage of the accrued total, with one
pair of bounds for over-claims and one for under-claims (an under-claim costs the vendor,
an over-claim the retailer, so they are set apart). Lines: the first failing check names
the line's exception kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

HUNDRED = Decimal(100)


class ClaimStatus(StrEnum):
    INCOMPLETE = "incomplete"  # no header yet, or fewer lines than it announced
    MATCHED = "matched"
    DISPUTED = "disputed"
    SUPERSEDED = "superseded"  # a later version of the claim is in force
    APPROVED = "approved"  # decided, and an analyst's approval of it takes effect (§10.6)
    REJECTED = "rejected"  # decided, and an analyst's rejection of it takes effect: no settling


class ClaimExceptionKind(StrEnum):
    DISPUTE = "claim_dispute"
    UNKNOWN_SALE = "claim_line_unknown_sale"
    NOT_COVERED = "claim_line_not_covered"
    OVER_QUANTITY = "claim_line_over_quantity"
    DOUBLE_CLAIMED = "claim_line_double_claimed"
    APPROVAL_INVALID = "claim_approval_invalid"  # an approval that cannot take effect


LINE_KINDS = (
    ClaimExceptionKind.UNKNOWN_SALE,
    ClaimExceptionKind.NOT_COVERED,
    ClaimExceptionKind.DOUBLE_CLAIMED,
    ClaimExceptionKind.OVER_QUANTITY,
)


@dataclass(frozen=True)
class Tolerances:
    over_amount: Decimal = Decimal("1.00")
    over_percent: Decimal = Decimal("0.5")
    under_amount: Decimal = Decimal("50.00")
    under_percent: Decimal = Decimal("5")

    def within(self, claimed: Decimal, accrued: Decimal) -> bool:
        diff = claimed - accrued
        if diff == 0:
            return True
        amount, percent = (
            (self.over_amount, self.over_percent)
            if diff > 0
            else (self.under_amount, self.under_percent)
        )
        size = abs(diff)
        return size <= amount and size * HUNDRED <= percent * abs(accrued)


def header_status(
    *,
    has_header: bool,
    superseded: bool,
    line_count: int,
    received: int,
    within: bool,
    failing_lines: int,
) -> ClaimStatus:
    if superseded:
        return ClaimStatus.SUPERSEDED
    if not has_header or received < line_count:
        return ClaimStatus.INCOMPLETE
    if not within or failing_lines or received > line_count:
        return ClaimStatus.DISPUTED
    return ClaimStatus.MATCHED
