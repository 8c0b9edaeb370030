"""A retail point-of-sale line (one row of the POS sales CSV)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from streams.domain.models.fields import AwareUtc, Currency, DecimalStr, decimal_places, rule
from streams.domain.models.periods import PeriodKind, period_of

MAX_PRICE_DECIMALS = 6  # the ledger's measure field holds 6 decimals


class SaleFacts(NamedTuple):
    """What the rebate engine needs of a valid sale line (from ``SaleLine.facts`` or the
    fast path of ``pos_fast``): plain values, cheap to build for every line of a chunk."""

    vendor_id: str
    sku: str
    day: date
    qty: int
    value: Decimal  # net sales value: unit price x quantity, negative for a return
    currency: str
    sold_at: datetime  # aware, UTC
    txn_id: str
    line_no: int
    idempotency_key: str
    day_text: str  # ``day`` in ISO 8601: part of its state keys


def idempotency_key(vendor_id: str, day: date, txn_id: str, line_no: int) -> str:
    """sha256(vendor : month : txn id : line no) — business identity, never arrival."""
    period = period_of(day, PeriodKind.MONTH)
    ident = f"pos:{vendor_id}:{period}:{txn_id}:{line_no}"
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()


class SaleLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    txn_id: str = Field(min_length=1)
    line_no: int
    store_id: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    vendor_id: str = Field(min_length=1)
    qty: int
    unit_price: DecimalStr
    currency: Currency
    sold_at: AwareUtc

    @field_validator("line_no")
    @classmethod
    def _positive_line(cls, value: int) -> int:
        if value < 1:
            raise rule("line_no must be >= 1, got {value}", value=value)
        return value

    @field_validator("unit_price")
    @classmethod
    def _non_negative_price(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise rule("unit_price must not be negative, got {value}", value=str(value))
        if decimal_places(value) > MAX_PRICE_DECIMALS:
            raise rule("unit_price {value} has more than 6 decimal places", value=str(value))
        return value

    @property
    def day(self) -> date:
        return self.sold_at.date()

    @property
    def value(self) -> Decimal:
        """Net sales value of the line (negative for a return)."""
        return self.unit_price * self.qty

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.vendor_id, self.day, self.txn_id, self.line_no)

    def facts(self) -> SaleFacts:
        return SaleFacts(
            self.vendor_id,
            self.sku,
            self.day,
            self.qty,
            self.value,
            self.currency,
            self.sold_at,
            self.txn_id,
            self.line_no,
            self.idempotency_key,
            self.day.isoformat(),
        )
