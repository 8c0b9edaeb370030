"""One row of a carrier's freight rate table (the rates CSV, docs/threeway.md "Rate audit").

A row is one of three kinds, told by its ``kind`` column; the columns another kind uses
are left empty:

- ``lane``: a weight break of a lane, ``origin`` to ``destination`` (a postal-code prefix,
  a state code, or ``*`` for any), from ``min_weight`` pounds up: ``rate_cwt`` per hundred
  pounds, never less than ``min_charge`` for the shipment.
- ``fuel``: the fuel surcharge, ``fuel_percent`` % of the linehaul, for shipments dated
  ``valid_from`` to ``valid_to`` (inclusive; empty ``valid_to``: open-ended).
- ``accessorial``: the flat price ``amount`` of the accessorial charge ``code`` (the 210's
  L108 special charge code: ``LFT`` liftgate, ``RES`` residential...).

A later row with the same :attr:`rate_key` replaces the earlier one.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.domain.models.fields import DecimalStr, rule

RateKind = Literal["lane", "fuel", "accessorial"]
_NEEDS: dict[str, tuple[str, ...]] = {
    "lane": ("origin", "destination", "min_weight", "rate_cwt", "min_charge"),
    "fuel": ("valid_from", "fuel_percent"),
    "accessorial": ("code", "amount"),
}
_NUMBERS = ("min_weight", "rate_cwt", "min_charge", "fuel_percent", "amount")


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _blank_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class RateRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    kind: RateKind
    scac: str = Field(min_length=2, max_length=4)
    origin: str = ""
    destination: str = ""
    min_weight: DecimalStr | None = None
    rate_cwt: DecimalStr | None = None
    min_charge: DecimalStr | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    fuel_percent: DecimalStr | None = None
    code: str = ""
    amount: DecimalStr | None = None

    @field_validator(
        "min_weight", "rate_cwt", "min_charge", "valid_from", "valid_to", "fuel_percent",
        "amount", mode="before",
    )  # fmt: skip
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return _blank_none(value)

    @field_validator("scac", "origin", "destination", "code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _complete(self) -> RateRow:
        missing = [f for f in _NEEDS[self.kind] if getattr(self, f) in (None, "")]
        if missing:
            raise rule(
                "a {kind} rate row needs {fields}", kind=self.kind, fields=", ".join(missing)
            )
        negative = [f for f in _NUMBERS if (getattr(self, f) or 0) < 0]
        if negative:
            raise rule("{fields} must not be negative", fields=", ".join(negative))
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise rule("valid_to {to} is before valid_from", to=self.valid_to.isoformat())
        return self

    @property
    def rate_key(self) -> str:
        """What a row is the current version of, within its carrier's table."""
        if self.kind == "lane":
            weight = _plain(self.min_weight) if self.min_weight is not None else ""
            return f"lane:{self.origin}:{self.destination}:{weight}"
        if self.kind == "fuel":
            return f"fuel:{self.valid_from}"
        return f"accessorial:{self.code}"

    def state(self) -> dict[str, Any]:
        """The row as JSON-able state (dates as text, numbers as plain decimals without
        trailing zeros, empty ones dropped): equal for the same terms however written."""
        return {
            k: v if isinstance(v, str) else _plain(v) if isinstance(v, Decimal) else str(v)
            for k, v in self.model_dump().items()
            if v not in (None, "")
        }

    @property
    def idempotency_key(self) -> str:
        """sha256 of the row's content: the same row ingested again is a duplicate; a row
        with new terms for the same rate key is a new version."""
        body = ",".join(f"{k}={v}" for k, v in sorted(self.state().items()))
        return hashlib.sha256(f"rates:{body}".encode()).hexdigest()
