"""A vendor rebate claim: one header row and its lines (docs/claims.md, "Records").

A claim version is a header (what the vendor claims for one agreement and period, and how
many lines it has) plus lines, each naming one sale line by the sale's business identity
(vendor, day, transaction id, line number: the POS idempotency key, docs/domain.md §1.2).
Header and lines travel as separate records: a 500,000-line claim cannot be one message.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from streams.domain.models.fields import Currency, DecimalStr, decimal_places, rule
from streams.domain.models.periods import AGREEMENT_PERIOD
from streams.domain.models.pos import idempotency_key as sale_key

_PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$")
MAX_AMOUNT_DECIMALS = 2  # claims are money as invoiced: cents


def _money(value: Decimal, name: str) -> Decimal:
    if value < 0:
        raise rule("{name} must not be negative, got {value}", name=name, value=str(value))
    if decimal_places(value) > MAX_AMOUNT_DECIMALS:
        raise rule("{name} {value} has more than 2 decimal places", name=name, value=str(value))
    return value


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    claim_id: str = Field(min_length=1)
    version: int
    vendor_id: str = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value < 1:
            raise rule("version must be >= 1, got {value}", value=value)
        return value


class ClaimHeader(_Record):
    """What the vendor claims for (agreement, period), and how many lines follow."""

    agreement_id: str = Field(min_length=1)
    period: str
    claimed_amount: DecimalStr
    currency: Currency
    line_count: int

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if value != AGREEMENT_PERIOD and not _PERIOD_RE.match(value):
            raise rule("period '{value}' must be YYYY-MM, YYYY-Qn or 'agreement'", value=value)
        return value

    @field_validator("claimed_amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        return _money(value, "claimed_amount")

    @field_validator("line_count")
    @classmethod
    def _count(cls, value: int) -> int:
        if value < 0:
            raise rule("line_count must not be negative, got {value}", value=value)
        return value

    @property
    def idempotency_key(self) -> str:
        return header_key(self.claim_id, self.version)


class ClaimLine(_Record):
    """One claimed sale line: the sale's identity, its SKU, the claimed quantity and amount."""

    txn_id: str = Field(min_length=1)
    line_no: int
    sold_on: date
    sku: str = Field(min_length=1)
    qty: int
    amount: DecimalStr

    @field_validator("line_no")
    @classmethod
    def _line(cls, value: int) -> int:
        if value < 1:
            raise rule("line_no must be >= 1, got {value}", value=value)
        return value

    @field_validator("qty")
    @classmethod
    def _qty(cls, value: int) -> int:
        if value < 1:
            raise rule("qty must be >= 1, got {value}", value=value)
        return value

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        return _money(value, "amount")

    @property
    def sale_key(self) -> str:
        """The claimed sale's idempotency key (docs/domain.md §1.2)."""
        return sale_key(self.vendor_id, self.sold_on, self.txn_id, self.line_no)

    @property
    def idempotency_key(self) -> str:
        return line_key(self.claim_id, self.version, self.sale_key)

    @property
    def sort_key(self) -> tuple[str, str, int]:
        """The order lines are checked in (over-quantity, docs/claims.md): not arrival."""
        return (self.sold_on.isoformat(), self.txn_id, self.line_no)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def header_key(claim_id: str, version: int) -> str:
    return _sha(f"claims:{claim_id}:{version}")


def line_key(claim_id: str, version: int, sale: str) -> str:
    return _sha(f"claims:{claim_id}:{version}:{sale}")
