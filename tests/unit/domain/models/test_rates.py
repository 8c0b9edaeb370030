"""Rate rows from the rates CSV: kinds, rate keys, versions and what is dead-lettered."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.rates import RateRow
from streams.domain.threeway.summary import carrier_key
from streams.errors import Category, RecordError
from streams.kafka.partitioner import keyer

pytestmark = pytest.mark.unit

COLUMNS = parse_columns(
    "kind,scac,origin,destination,min_weight,rate_cwt,min_charge,valid_from,valid_to,"
    "fuel_percent,code,amount"
)
LANE = b"lane,fdeg,606,TX,500,16.00,95.00,,,,,"


def row(raw: bytes) -> RateRow:
    return to_model(RateRow, COLUMNS, raw, "rates.csv line 2")


def test_each_kind_has_its_rate_key_and_a_content_version() -> None:
    lane = row(LANE)
    assert (lane.scac, lane.rate_key, lane.rate_cwt) == ("FDEG", "lane:606:TX:500", Decimal(16))
    fuel = row(b"fuel,FDEG,,,,,,2024-11-01,,20,,")
    assert fuel.rate_key == "fuel:2024-11-01" and "valid_to" not in fuel.state()
    acc = row(b"accessorial,FDEG,,,,,,,,,lft,75")
    assert acc.rate_key == "accessorial:LFT"
    same = row(b"lane,FDEG,606,tx,500.0,16,95.00,,,,,")  # case and zeros are not content
    newer = row(b"lane,FDEG,606,TX,500,15.50,95.00,,,,,")
    assert same.idempotency_key == lane.idempotency_key != newer.idempotency_key
    assert newer.rate_key == lane.rate_key  # a new version of the same rate


@pytest.mark.parametrize(
    ("raw", "category", "words"),
    [
        (b"lane,FDEG,606,TX,500,,95.00,,,,,", Category.INVALID_VALUE, "rate_cwt"),
        (b"fuel,FDEG,,,,,,,,20,,", Category.INVALID_VALUE, "valid_from"),
        (b"accessorial,FDEG,,,,,,,,,LFT,-5", Category.INVALID_VALUE, "amount"),
        (b"fuel,FDEG,,,,,,2024-11-01,2024-10-01,20,,", Category.INVALID_VALUE, "valid_to"),
        (b"lane,FDEG,606,TX,500,ten,95.00,,,,,", Category.SCHEMA_VIOLATION, "rate_cwt"),
        (b"tariff,FDEG,606,TX,500,1,95.00,,,,,", Category.SCHEMA_VIOLATION, "kind"),
        (b"lane,FDEG,606,TX", Category.PARSE_ERROR, ""),
    ],
)
def test_bad_rows_are_dead_lettered_with_their_category(
    raw: bytes, category: Category, words: str
) -> None:
    with pytest.raises(RecordError) as info:
        row(raw)
    assert info.value.category is category
    assert words in str(info.value) and "rates.csv line 2" in str(info.value)


def test_rate_rows_are_keyed_like_their_carriers_210s() -> None:
    key_of = keyer("rates", COLUMNS)
    assert key_of(LANE) == carrier_key("FDEG").encode() == b"210:FDEG"
    assert key_of(b"") != key_of(b"x")  # unreadable: spread by hash, dead-lettered later
