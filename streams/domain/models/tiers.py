"""Tiered rebate arithmetic (docs/domain.md §3.4): exact Decimal, rounded only at the target."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import NamedTuple

CENT = Decimal("0.01")
ZERO = Decimal(0)


class TierMethod(StrEnum):
    RETROACTIVE = "retroactive"
    INCREMENTAL = "incremental"


class Tier(NamedTuple):
    threshold: Decimal
    rate: Decimal


def rate_at(x: Decimal, tiers: Sequence[Tier]) -> Decimal:
    """Rate of the highest tier whose threshold <= x (0 if none). Tiers are sorted."""
    rate = ZERO
    for tier in tiers:
        if tier.threshold > x:
            break
        rate = tier.rate
    return rate


def accrual(x: Decimal, tiers: Sequence[Tier], method: TierMethod) -> Decimal:
    """Unrounded accrual for a period whose net measure is ``x``; 0 when x <= 0."""
    if x <= 0:
        return ZERO
    if method is TierMethod.RETROACTIVE:
        return rate_at(x, tiers) * x
    total = ZERO
    for i, tier in enumerate(tiers):
        if x <= tier.threshold:
            break
        upper = tiers[i + 1].threshold if i + 1 < len(tiers) else x
        total += (min(x, upper) - tier.threshold) * tier.rate
    return total


def target(x: Decimal, tiers: Sequence[Tier], method: TierMethod) -> Decimal:
    """The posting target T = round_half_even(accrual(x), 2)."""
    return accrual(x, tiers, method).quantize(CENT, rounding=ROUND_HALF_EVEN)
