"""Trade and confirmation rows: validation errors map to DLQ categories, naming the field."""

from __future__ import annotations

import pytest

from streams.domain.models.keys import group_key
from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.trades import Confirmation, Side, Trade
from streams.errors import Category, RecordError

pytestmark = pytest.mark.unit

HEADER = (
    "trade_id,version,buyer,seller,product,delivery_start,delivery_end,quantity,price,"
    "currency,trade_time,status"
)
GOOD = (
    "T1,2,ACME,NORD,DE-BASE,2026-04-01T00:00:00+02:00,2026-05-01T00:00:00+02:00,25,"
    "42.50,EUR,2026-03-02T09:15:00Z,active"
)


def parse(row: str, header: str = HEADER) -> Trade:
    return to_model(Trade, parse_columns(header), row.encode(), "trades.csv line 2")


def test_a_good_row_is_normalised() -> None:
    t = parse(GOOD)
    assert (t.side, t.record_id, t.version) == (Side.TRADE, "T1", 2)
    assert t.delivery_start.isoformat() == "2026-03-31T22:00:00+00:00"
    same = parse(GOOD.replace("42.50", "42.5").replace("09:15:00Z", "10:15:00+01:00"))
    assert same.content_hash == t.content_hash and same.idempotency_key == t.idempotency_key
    assert t.group_key == group_key(
        "ACME", "NORD", "DE-BASE", "2026-03-31T22:00:00+00:00", "2026-04-30T22:00:00+00:00", "EUR"
    )
    conf = to_model(
        Confirmation,
        parse_columns(HEADER.replace("trade_id", "confirm_id")),
        GOOD.encode(),
        "c.csv line 2",
    )
    assert conf.group_key == t.group_key and conf.idempotency_key != t.idempotency_key


@pytest.mark.parametrize(
    ("old", "new", "category", "field"),
    [
        (",2,", ",1.0,", Category.SCHEMA_VIOLATION, "version"),
        (",2,", ",-1,", Category.SCHEMA_VIOLATION, "version"),
        (",25,", ",0,", Category.INVALID_VALUE, "quantity"),
        (",25,", ",abc,", Category.SCHEMA_VIOLATION, "quantity"),
        ("42.50", "42.1234567", Category.INVALID_VALUE, "price"),
        (",EUR,", ",EURO,", Category.INVALID_VALUE, "currency"),
        ("NORD", "ACME", Category.INVALID_VALUE, "seller"),
        (
            "2026-05-01T00:00:00+02:00",
            "2026-03-01T00:00:00+02:00",
            Category.INVALID_VALUE,
            "delivery_end",
        ),
        ("09:15:00Z", "09:15:00", Category.INVALID_VALUE, "trade_time"),
        (",active", ",pending", Category.SCHEMA_VIOLATION, "status"),
        ("T1,", ",", Category.SCHEMA_VIOLATION, "trade_id"),
    ],
)
def test_bad_values_name_field_and_category(
    old: str, new: str, category: Category, field: str
) -> None:
    with pytest.raises(RecordError) as err:
        parse(GOOD.replace(old, new, 1))
    assert (err.value.category, err.value.field) == (category, field), str(err.value)
    assert str(err.value).startswith("trades.csv line 2: field " + field)


def test_negative_prices_are_valid() -> None:
    assert str(parse(GOOD.replace("42.50", "-3.25")).price) == "-3.25"


def test_wrong_columns_and_bad_csv() -> None:
    with pytest.raises(RecordError) as err:
        parse(GOOD, HEADER.replace("trade_id", "confirm_id"))
    assert err.value.category is Category.SCHEMA_VIOLATION
    with pytest.raises(RecordError) as err:
        parse(GOOD + ",extra")
    assert err.value.category is Category.PARSE_ERROR
