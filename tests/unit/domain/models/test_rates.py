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


WITH_PER = parse_columns(
    "kind,scac,origin,destination,min_weight,rate_cwt,min_charge,valid_from,valid_to,"
    "fuel_percent,code,amount,per,action"
)


def extended(raw: bytes) -> RateRow:
    return to_model(RateRow, WITH_PER, raw, "rates.csv line 3")


def test_an_accessorial_is_priced_per_line_per_cwt_or_as_a_percentage() -> None:
    assert row(b"accessorial,FDEG,,,,,,,,,LFT,75").per is None  # the column may be absent
    assert extended(b"accessorial,FDEG,,,,,,,,,HAZ,2.5,CWT,").per == "cwt"
    pct = extended(b"accessorial,FDEG,,,,,,,,,RES,10,percent,set")
    assert (pct.per, pct.action, pct.state()["per"]) == ("percent", None, "percent")
    flat = extended(b"accessorial,FDEG,,,,,,,,,LFT,75,,")
    assert flat.idempotency_key == row(b"accessorial,FDEG,,,,,,,,,LFT,75").idempotency_key


def test_a_delete_row_names_its_rate_key_only() -> None:
    gone = extended(b"lane,FDEG,606,TX,500,,,,,,,,,delete")
    assert (gone.deletes, gone.rate_key, gone.version()) == (True, "lane:606:TX:500", None)
    assert gone.idempotency_key != row(LANE).idempotency_key
    assert extended(b"accessorial,FDEG,,,,,,,,,RES,,,DELETE").rate_key == "accessorial:RES"


@pytest.mark.parametrize(
    ("raw", "category", "words"),
    [
        (b"lane,FDEG,606,TX,,,,,,,,,,delete", Category.INVALID_VALUE, "min_weight"),
        (b"fuel,FDEG,,,,,,,,,,,,delete", Category.INVALID_VALUE, "valid_from"),
        (b"lane,FDEG,606,TX,500,16,95,,,,,,cwt,", Category.INVALID_VALUE, "per cwt"),
        (b"accessorial,FDEG,,,,,,,,,HAZ,2.5,kg,", Category.SCHEMA_VIOLATION, "per"),
        (b"accessorial,FDEG,,,,,,,,,HAZ,2.5,,remove", Category.SCHEMA_VIOLATION, "action"),
    ],
)
def test_bad_pricing_bases_and_deletes_are_dead_lettered(
    raw: bytes, category: Category, words: str
) -> None:
    with pytest.raises(RecordError) as info:
        extended(raw)
    assert info.value.category is category
    assert words in str(info.value) and "rates.csv line 3" in str(info.value)
