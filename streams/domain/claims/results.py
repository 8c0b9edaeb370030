"""What the claims engine emits: claim results, exception events and settlement entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from streams.domain.claims.rules import ClaimExceptionKind, ClaimStatus
from streams.domain.models.keys import digest


class SettlementKind(StrEnum):
    SETTLEMENT = "settlement"
    SETTLEMENT_REVERSAL = "settlement_reversal"


# Double entry of a settlement: the vendor's deduction (payable / credit memo) clears the
# rebate receivable the accruals built up (docs/claims.md, "Settlement").
SETTLEMENT_DEBIT = "vendor_payable"
SETTLEMENT_CREDIT = "rebate_receivable"


@dataclass(frozen=True)
class Settlement:
    entry_id: str
    claim_id: str
    version: int
    vendor_id: str
    agreement_id: str
    period: str
    kind: SettlementKind
    amount: Decimal
    currency: str
    settled_total: Decimal  # of this claim version after the entry
    source_key: str  # the claim header's idempotency key


@dataclass(frozen=True)
class ClaimResult:
    """A claim version's reconciliation after a change (its latest result counts)."""

    claim_id: str
    version: int
    vendor_id: str
    agreement_id: str
    period: str
    currency: str
    claimed: Decimal
    accrued: Decimal
    status: ClaimStatus
    line_count: int
    received: int
    failing: dict[str, int] = field(default_factory=dict)  # line exception kind -> lines
    settled: Decimal = Decimal(0)
    seq: int = 0
    # the version's latest analyst decision when it is an approval (docs/domain.md §10.6)
    approved_by: str = ""
    approved_amount: Decimal | None = None  # what the approval settles
    approval_reason: str = ""
    # ... when it is a rejection
    rejected_by: str = ""
    rejection_reason: str = ""

    @property
    def difference(self) -> Decimal:
        return self.claimed - self.accrued

    def failing_text(self) -> str:
        return ";".join(f"{kind}:{n}" for kind, n in sorted(self.failing.items()))


@dataclass(frozen=True)
class ClaimException:
    """An exception opened or resolved; fold per ``exception_id`` by the highest ``seq``."""

    exception_id: str
    kind: ClaimExceptionKind
    open: bool
    claim_id: str
    version: int
    vendor_id: str
    sale_key: str  # '' for claim_dispute
    details: str
    seq: int


def exception_id(kind: ClaimExceptionKind, claim_id: str, version: int, sale_key: str) -> str:
    return digest("claim-exception", kind.value, claim_id, version, sale_key)


def settlement_id(claim_id: str, version: int, seq: int) -> str:
    return digest("claim-settlement", claim_id, version, seq)


@dataclass
class ClaimsOutput:
    results: list[ClaimResult] = field(default_factory=list)
    exceptions: list[ClaimException] = field(default_factory=list)
    settlements: list[Settlement] = field(default_factory=list)

    def extend(self, other: ClaimsOutput) -> None:
        self.results += other.results
        self.exceptions += other.exceptions
        self.settlements += other.settlements
