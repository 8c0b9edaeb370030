"""The fast validation path for POS lines: plain string checks for the common, canonical
line, and the pydantic model (``SaleLine``) for everything else.

``FastSales.parse`` accepts a line only in a narrow canonical form (no quoting, no
surrounding whitespace, plain integers, a plain decimal price with at most 6 places, an
ISO 8601 timestamp with seconds and an offset) that ``SaleLine`` accepts too, with equal
values (a property test holds the two to that: tests/unit/domain/models/test_pos_fast.py).
Any other line, valid or not, returns None and goes through ``SaleLine``, which gives the
exact error and DLQ text. Per line this is several times cheaper than model validation,
and a chunk of POS lines is validated line by line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from pydantic_core import PydanticCustomError

from streams.domain.models.fields import validate_currency
from streams.domain.models.pos import SaleFacts, SaleLine, idempotency_key

FIELDS = tuple(SaleLine.model_fields)
_POSITIVE = re.compile(r"[1-9][0-9]{0,17}\Z")
_INTEGER = re.compile(r"(?:0|-?[1-9][0-9]{0,17})\Z")
_PRICE = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,6})?\Z")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
# Characters that send a line to the model: CSV quoting, line ends, whitespace to strip.
_SLOW = re.compile(r'["\r\n \t\x0b\x0c]')


class FastSales:
    """Parses lines of one column layout; ``None`` from ``parse``: use ``SaleLine``."""

    def __init__(self, columns: list[str]) -> None:
        # The layout is usable only with exactly the model's columns, in any order.
        self.index: tuple[int, ...] | None = (
            tuple(columns.index(f) for f in FIELDS)
            if len(columns) == len(FIELDS) and set(columns) == set(FIELDS)
            else None
        )
        self._currencies: dict[str, bool] = {}

    def _currency_ok(self, code: str) -> bool:
        known = self._currencies.get(code)
        if known is None:
            try:
                validate_currency(code)
                known = True
            except PydanticCustomError:
                known = False
            self._currencies[code] = known
        return known

    def parse(self, raw: bytes) -> SaleFacts | None:
        index = self.index
        if index is None:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _SLOW.search(text):
            return None
        values = text.split(",")
        if len(values) != len(FIELDS):
            return None
        txn, line_no, store, sku, vendor, qty, price, currency, sold = (values[i] for i in index)
        if not (txn and store and sku and vendor):
            return None
        if not (
            _POSITIVE.match(line_no)
            and _INTEGER.match(qty)
            and _PRICE.match(price)
            and _TIMESTAMP.match(sold)
            and self._currency_ok(currency)
        ):
            return None
        try:
            at = datetime.fromisoformat(sold)
        except ValueError:  # a day or hour out of range: the model words the error
            return None
        at = at.astimezone(UTC)
        day = at.date()
        number, units = int(line_no), int(qty)
        return SaleFacts(
            vendor,
            sku,
            day,
            units,
            Decimal(price) * units,
            currency,
            at,
            txn,
            number,
            idempotency_key(vendor, day, txn, number),
            day.isoformat(),
        )
