"""Field types shared by the record models; rule violations raise ``invalid_value``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

# Plain decimal notation only: no exponents, NaN or infinities in money.
_DECIMAL_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")

INVALID_VALUE = "invalid_value"


def rule(message: str, **context: object) -> PydanticCustomError:
    """A business-rule violation (DLQ category ``invalid_value``)."""
    return PydanticCustomError(INVALID_VALUE, message, dict(context))


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    text = str(value).strip()
    if not _DECIMAL_RE.match(text):
        raise PydanticCustomError(
            "decimal_parsing", "not a decimal number: '{value}'", {"value": text}
        )
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise PydanticCustomError("decimal_parsing", "not a decimal number") from exc


def decimal_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def validate_currency(value: str) -> str:
    # pycountry matches case-insensitively; ISO 4217 codes are three upper-case letters.
    if not (len(value) == 3 and value.isalpha() and value.isupper()) or (
        pycountry.currencies.get(alpha_3=value) is None
    ):
        raise rule("unknown ISO 4217 currency '{value}'", value=value)
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise rule("timestamp '{value}' has no UTC offset", value=value.isoformat())
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59:59-12:00 is in year 10000 in UTC
        raise PydanticCustomError(
            "datetime_range",
            "timestamp '{value}' is outside the dates that UTC can hold",
            {"value": value.isoformat()},
        ) from exc


DecimalStr = Annotated[Decimal, BeforeValidator(_decimal)]
Currency = Annotated[str, AfterValidator(validate_currency)]
AwareUtc = Annotated[datetime, AfterValidator(_aware_utc)]
