"""A tiered promotion agreement (one row of the promotions CSV)."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from streams.domain.models.fields import Currency, decimal_places, rule
from streams.domain.models.periods import PeriodKind
from streams.domain.models.tiers import Tier, TierMethod


class Basis(StrEnum):
    PER_UNIT = "per_unit"
    PERCENT = "percent"


def _parse_tiers(text: str) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    for part in text.split("|"):
        threshold, sep, rate = part.partition(":")
        try:
            if not sep:
                raise ValueError
            tier = Tier(Decimal(threshold.strip()), Decimal(rate.strip()))
            if not (tier.threshold.is_finite() and tier.rate.is_finite()):
                raise ValueError
        except (ArithmeticError, ValueError):
            raise PydanticCustomError(
                "tiers_parsing", "tier '{part}' is not threshold:rate", {"part": part}
            ) from None
        if tier.threshold < 0 or tier.rate < 0:
            raise rule("tier '{part}' has a negative threshold or rate", part=part)
        if decimal_places(tier.threshold) > 6 or decimal_places(tier.rate) > 8:
            raise rule("tier '{part}' has too many decimals (threshold 6, rate 8)", part=part)
        tiers.append(tier)
    tiers.sort()
    thresholds = [t.threshold for t in tiers]
    if len(set(thresholds)) != len(thresholds):
        raise rule("tiers '{text}' repeat a threshold", text=text)
    return tuple(tiers)


class Agreement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    agreement_id: str = Field(min_length=1)
    vendor_id: str = Field(min_length=1)
    skus: tuple[str, ...]  # empty = every SKU of the vendor ("*")
    start_date: date
    end_date: date
    basis: Basis
    period: PeriodKind
    tier_method: TierMethod
    tiers: tuple[Tier, ...]
    currency: Currency

    @field_validator("skus", mode="before")
    @classmethod
    def _split_skus(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip() == "*":
            return ()
        skus = tuple(s.strip() for s in value.split("|"))
        if not value.strip() or any(not s for s in skus):
            raise rule("skus '{value}' must be '*' or SKUs joined by '|'", value=value)
        return tuple(sorted(set(skus)))

    @field_validator("tiers", mode="before")
    @classmethod
    def _split_tiers(cls, value: Any) -> Any:
        return _parse_tiers(value) if isinstance(value, str) else value

    @field_validator("end_date")
    @classmethod
    def _window(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if start is not None and value < start:
            raise rule(
                "end_date {end} is before start_date {start}",
                end=value.isoformat(),
                start=start.isoformat(),
            )
        return value

    def covers(self, sku: str, day: date) -> bool:
        return (not self.skus or sku in self.skus) and self.start_date <= day <= self.end_date

    def canonical(self) -> str:
        """Content identity: equal for the same terms however the row was formatted."""
        tiers = "|".join(f"{t.threshold.normalize()}:{t.rate.normalize()}" for t in self.tiers)
        return ",".join(
            [
                self.agreement_id,
                self.vendor_id,
                "|".join(self.skus) or "*",
                self.start_date.isoformat(),
                self.end_date.isoformat(),
                self.basis,
                self.period,
                self.tier_method,
                tiers,
                self.currency,
            ]
        )

    @property
    def idempotency_key(self) -> str:
        """sha256(source : agreement id : version); the version is the content hash,
        because a later row with new terms amends the agreement."""
        version = hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()
        ident = f"promotions:{self.agreement_id}:{version}"
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()
