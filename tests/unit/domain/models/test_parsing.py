import csv
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.models.parsing import parse_columns, split_record, to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.errors import Category, RecordError

pytestmark = pytest.mark.unit

POS = parse_columns("txn_id,line_no,store_id,sku,vendor_id,qty,unit_price,currency,sold_at")
PROMO = parse_columns(
    "agreement_id,vendor_id,skus,start_date,end_date,basis,period,tier_method,tiers,currency"
)
GOOD_SALE = b"T1,1,S1,SKU1,V1,3,2.50,USD,2026-03-05T23:30:00-02:00"


def error(model: type, columns: list[str], raw: bytes) -> RecordError:
    with pytest.raises(RecordError) as info:
        to_model(model, columns, raw, "f.csv line 7")
    return info.value


def test_valid_sale_is_converted_to_utc_with_exact_money() -> None:
    sale = to_model(SaleLine, POS, GOOD_SALE, "x")
    assert sale.sold_at.isoformat() == "2026-03-06T01:30:00+00:00"
    assert sale.day.isoformat() == "2026-03-06"
    assert sale.value == Decimal("7.50")


def test_idempotency_key_is_business_identity_not_content() -> None:
    a = to_model(SaleLine, POS, GOOD_SALE, "x")
    b = to_model(SaleLine, POS, b"T1,1,S9,SKU1,V1,4,9.99,USD,2026-03-01T00:00:00Z", "x")
    c = to_model(SaleLine, POS, b"T1,2,S1,SKU1,V1,3,2.50,USD,2026-03-05T23:30:00Z", "x")
    assert a.idempotency_key == b.idempotency_key != c.idempotency_key


@pytest.mark.parametrize(
    ("raw", "category", "field"),
    [
        (b"T1,1,S1,SKU1,V1,3,2.50,USD", Category.PARSE_ERROR, None),
        (b"T1,1,S1,SKU1,V1,3,2.50,USD,\xff", Category.PARSE_ERROR, None),
        (b"T1,x,S1,SKU1,V1,3,2.50,USD,2026-03-05T10:00:00Z", Category.SCHEMA_VIOLATION, "line_no"),
        (
            b"T1,1,S1,SKU1,V1,3,NaN,USD,2026-03-05T10:00:00Z",
            Category.SCHEMA_VIOLATION,
            "unit_price",
        ),
        (b"T1,1,S1,SKU1,V1,3,-2,USD,2026-03-05T10:00:00Z", Category.INVALID_VALUE, "unit_price"),
        (
            b"T1,1,S1,SKU1,V1,3,1.1234567,USD,2026-03-05T10:00:00Z",
            Category.INVALID_VALUE,
            "unit_price",
        ),
        (b"T1,1,S1,SKU1,V1,3,2.50,usd,2026-03-05T10:00:00Z", Category.INVALID_VALUE, "currency"),
        (b"T1,1,S1,SKU1,V1,3,2.50,USD,2026-03-05T10:00:00", Category.INVALID_VALUE, "sold_at"),
    ],
)
def test_sale_errors_name_category_field_and_position(
    raw: bytes, category: Category, field: str | None
) -> None:
    err = error(SaleLine, POS, raw)
    assert (err.category, err.field) == (category, field)
    assert str(err).startswith("f.csv line 7")


def test_unknown_and_missing_columns_are_schema_violations() -> None:
    err = error(SaleLine, [*POS[:-1], "sold"], GOOD_SALE)
    assert err.category is Category.SCHEMA_VIOLATION
    assert "unknown column(s) sold" in str(err) and "missing column(s) sold_at" in str(err)


def test_agreement_parsing_and_rules() -> None:
    row = b"A1,V1,B|A|B,2026-01-01,2026-12-31,percent,quarter,incremental,500:0.02|0:0.01,EUR"
    agr = to_model(Agreement, PROMO, row, "x")
    assert agr.skus == ("A", "B")
    assert [t.threshold for t in agr.tiers] == [0, 500]  # sorted
    star = to_model(Agreement, PROMO, row.replace(b"B|A|B", b"*"), "x")
    assert star.skus == () and star.covers("anything", agr.start_date)
    assert not agr.covers("A", agr.end_date.replace(year=2027))
    reformatted = row.replace(b"0:0.01", b"0:0.010")
    assert to_model(Agreement, PROMO, reformatted, "x").idempotency_key == agr.idempotency_key
    err = error(Agreement, PROMO, row.replace(b"2026-12-31", b"2025-12-31"))
    assert (err.category, err.field) == (Category.INVALID_VALUE, "end_date")
    err = error(Agreement, PROMO, row.replace(b"500:0.02", b"500"))
    assert (err.category, err.field) == (Category.SCHEMA_VIOLATION, "tiers")


@given(st.text(alphabet=st.sampled_from(list('a,b "\r\n\x00é;'))))
def test_split_record_reads_a_line_as_the_csv_module_does(text: str) -> None:
    """The fast path for lines without quoting gives the csv module's fields."""
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error:
        rows = None
    if rows is None or len(rows) != 1:
        with pytest.raises(RecordError):
            split_record(text.encode(), "f.csv line 7")
    else:
        assert split_record(text.encode(), "f.csv line 7") == rows[0]
