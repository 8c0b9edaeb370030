"""One row of a carrier's freight rate table (the rates CSV, docs/threeway.md "Rate audit").

A row is one of three kinds, told by its ``kind`` column; the columns another kind uses
are left empty:

- ``lane``: a weight break of a lane, ``origin`` to ``destination`` (a postal-code prefix,
  a state code, or ``*`` for any), from ``min_weight`` pounds up: ``rate_cwt`` per hundred
  pounds, never less than ``min_charge`` for the shipment.
- ``fuel``: the fuel surcharge, ``fuel_percent`` % of the linehaul, for shipments dated
  ``valid_from`` to ``valid_to`` (inclusive; empty ``valid_to``: open-ended).
- ``accessorial``: the price ``amount`` of the accessorial charge ``code`` (the 210's
  L108 special charge code: ``LFT`` liftgate, ``RES`` residential...), ``per`` L1 line
  that bills it (``line``, the default), per hundred pounds of the shipment (``cwt``), or
  as a percentage of the expected linehaul (``percent``).

A later row with the same :attr:`rate_key` replaces the earlier one; a row with
``action`` ``delete`` removes it (it names the rate key only: a lane's origin,
destination and weight break, a fuel row's ``valid_from``, an accessorial's code).
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.domain.models.fields import DecimalStr, rule

RateKind = Literal["lane", "fuel", "accessorial"]
RatePer = Literal["line", "cwt", "percent"]
_NEEDS: dict[str, tuple[str, ...]] = {
    "lane": ("origin", "destination", "min_weight", "rate_cwt", "min_charge"),
    "fuel": ("valid_from", "fuel_percent"),
    "accessorial": ("code", "amount"),
}
_KEY: dict[str, tuple[str, ...]] = {  # what a delete row must name
    "lane": ("origin", "destination", "min_weight"),
    "fuel": ("valid_from",),
    "accessorial": ("code",),
}
_NUMBERS = ("min_weight", "rate_cwt", "min_charge", "fuel_percent", "amount")


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _blank_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class RateRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
    # most tables need neither: a file without these columns reads as one with them empty
    OPTIONAL_COLUMNS: ClassVar[frozenset[str]] = frozenset({"per", "action"})

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
    per: RatePer | None = None
    action: Literal["delete"] | None = None

    @field_validator("per", "action", mode="before")
    @classmethod
    def _word(cls, value: Any) -> Any:
        """Case-insensitive; blank is the default, and so is ``set`` (a row sets its key)."""
        value = _blank_none(value)
        if isinstance(value, str):
            value = value.strip().lower()
            return None if value == "set" else value
        return value

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
        needs = _KEY if self.deletes else _NEEDS
        missing = [f for f in needs[self.kind] if getattr(self, f) in (None, "")]
        if missing:
            what = f"{self.kind} rate row" + (" to delete" if self.deletes else "")
            raise rule("a {what} needs {fields}", what=what, fields=", ".join(missing))
        if self.per is not None and self.kind != "accessorial":
            raise rule("per {per} applies to accessorial rows only", per=self.per)
        negative = [f for f in _NUMBERS if (getattr(self, f) or 0) < 0]
        if negative:
            raise rule("{fields} must not be negative", fields=", ".join(negative))
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise rule("valid_to {to} is before valid_from", to=self.valid_to.isoformat())
        return self

    @property
    def deletes(self) -> bool:
        return self.action == "delete"

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

    def version(self) -> dict[str, Any] | None:
        """What the row makes its rate key's version: its state, or None (a delete)."""
        return None if self.deletes else self.state()

    @property
    def idempotency_key(self) -> str:
        """sha256 of the row's content: the same row ingested again is a duplicate; a row
        with new terms for the same rate key is a new version."""
        body = ",".join(f"{k}={v}" for k, v in sorted(self.state().items()))
        return hashlib.sha256(f"rates:{body}".encode()).hexdigest()
