"""Trade captures and counterparty confirmations (one row of the trades / confirmations CSV).

Both share every field but the id column. Money and quantities are Decimal, times aware UTC;
``version`` is a plain non-negative integer (``1.0`` or ``1e2`` are schema violations).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from streams.domain.models.fields import AwareUtc, Currency, DecimalStr, decimal_places, rule
from streams.domain.models.keys import group_key, utc_text

MAX_DECIMALS = 6  # the Avro outputs carry quantities, prices and their differences at scale 6
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VERSION_RE = re.compile(r"^\d+$")


class Side(StrEnum):
    TRADE = "trade"
    CONFIRMATION = "confirmation"

    @property
    def other(self) -> Side:
        return Side.CONFIRMATION if self is Side.TRADE else Side.TRADE

    @property
    def source(self) -> str:
        """The source name in idempotency keys (docs/domain.md §1.2)."""
        return "trades" if self is Side.TRADE else "confirmations"


class Status(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


def _version(value: object) -> object:
    if isinstance(value, str) and not _VERSION_RE.match(value.strip()):
        raise PydanticCustomError(
            "int_parsing", "version must be a non-negative integer, got '{value}'", {"value": value}
        )
    return value


Version = Annotated[int, BeforeValidator(_version)]


def micros(value: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    return (value - EPOCH) // timedelta(microseconds=1)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    version: Version
    buyer: str = Field(min_length=1)
    seller: str = Field(min_length=1)
    product: str = Field(min_length=1)
    delivery_start: AwareUtc
    delivery_end: AwareUtc
    quantity: DecimalStr
    price: DecimalStr  # may be negative: power prices are
    currency: Currency
    trade_time: AwareUtc
    status: Status

    @field_validator("seller")
    @classmethod
    def _two_parties(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("buyer"):
            raise rule("seller '{value}' is also the buyer", value=value)
        return value

    @field_validator("delivery_end")
    @classmethod
    def _delivery_window(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("delivery_start")
        if start is not None and value <= start:
            raise rule(
                "delivery_end {end} is not after delivery_start {start}",
                end=value.isoformat(),
                start=start.isoformat(),
            )
        return value

    @field_validator("quantity")
    @classmethod
    def _positive_quantity(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise rule("quantity must be positive, got {value}", value=str(value))
        return _scale(value, "quantity")

    @field_validator("price")
    @classmethod
    def _price_scale(cls, value: Decimal) -> Decimal:
        return _scale(value, "price")

    # -- identity -------------------------------------------------------------------------

    @property
    def side(self) -> Side:
        raise NotImplementedError

    @property
    def record_id(self) -> str:
        raise NotImplementedError

    @property
    def key_fields(self) -> tuple[str, str, str, str, str, str]:
        return (
            self.buyer,
            self.seller,
            self.product,
            utc_text(self.delivery_start),
            utc_text(self.delivery_end),
            self.currency,
        )

    @property
    def group_key(self) -> str:
        return group_key(*self.key_fields)

    @property
    def idempotency_key(self) -> str:
        """sha256(source : document id : version) — business identity, never arrival."""
        ident = f"{self.side.source}:{self.record_id}:{self.version}"
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()

    def content(self) -> dict[str, str]:
        """Normalised field values: equal for the same record however the row was written."""
        buyer, seller, product, start, end, currency = self.key_fields
        return {
            "buyer": buyer,
            "seller": seller,
            "product": product,
            "delivery_start": start,
            "delivery_end": end,
            "currency": currency,
            "quantity": _plain(self.quantity),
            "price": _plain(self.price),
            "trade_time": utc_text(self.trade_time),
            "status": self.status.value,
        }

    @property
    def content_hash(self) -> str:
        text = "\x1f".join(f"{k}={v}" for k, v in sorted(self.content().items()))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Trade(_Record):
    trade_id: str = Field(min_length=1)

    @property
    def side(self) -> Side:
        return Side.TRADE

    @property
    def record_id(self) -> str:
        return self.trade_id


class Confirmation(_Record):
    confirm_id: str = Field(min_length=1)

    @property
    def side(self) -> Side:
        return Side.CONFIRMATION

    @property
    def record_id(self) -> str:
        return self.confirm_id


MatchRecord = Trade | Confirmation
MODELS: dict[str, type[Trade] | type[Confirmation]] = {
    "trades-csv": Trade,
    "confirmations-csv": Confirmation,
}
ID_COLUMNS = {"trades-csv": "trade_id", "confirmations-csv": "confirm_id"}
SIDES = {"trades-csv": Side.TRADE, "confirmations-csv": Side.CONFIRMATION}


def _scale(value: Decimal, name: str) -> Decimal:
    if decimal_places(value) > MAX_DECIMALS:
        raise rule(f"{name} {{value}} has more than 6 decimal places", value=str(value))
    return value


def _plain(value: Decimal) -> str:
    """Canonical decimal text: 42.50 and 42.5 are the same price."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
