"""Manifest row validation: normalisation, and every bad field named in quarantine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.inventory.rows import COLUMNS, check_columns, failing_fields, validate_row
from streams.errors import Category, RecordError

pytestmark = pytest.mark.unit

GOOD = ["MS-0042", "nih-R01GM1234", " reagent ", "12", "chem-214-s3", "2024-03-15"]


def test_a_good_row_is_normalised() -> None:
    row = validate_row(COLUMNS, GOOD, "lab.csv line 2")
    assert row.asset_key == "MS-0042:NIH-R01GM1234"
    assert row.normalised() == {
        "asset_id": "MS-0042",
        "grant_code": "NIH-R01GM1234",
        "category": "reagent",
        "quantity": 12,
        "location": "CHEM-214-S3",
        "acquisition_date": "2024-03-15",
    }
    spaced = validate_row(COLUMNS, [" MS-0042", "NIH-R01GM1234", "reagent", " 12", "CHEM-214-S3",
                                    "2024-03-15 "], "x")  # fmt: skip
    assert spaced.content_hash == row.content_hash


def test_columns_in_another_order_are_fine() -> None:
    columns = list(reversed(COLUMNS))
    row = validate_row(columns, list(reversed(GOOD)), "x")
    assert row.grant_code == "NIH-R01GM1234"


@pytest.mark.parametrize(
    ("index", "value", "rule"),
    [
        (0, "", "asset id"),
        (1, "XYZ-123", "grant code must be one of NIH-, NSF-, DOE-, DOD-, EPA-"),
        (1, "NIH", "grant code"),
        (2, "  ", "category must be 1-64 characters"),
        (3, "-1", "non-negative integer"),
        (3, "1.5", "non-negative integer"),
        (4, "Room 12", "building-room-shelf"),
        (5, "03/15/2024", "ISO 8601"),
        (5, "2024-02-30", "no such date"),
    ],
)
def test_each_bad_field_is_a_schema_violation_naming_field_and_value(
    index: int, value: str, rule: str
) -> None:
    values = list(GOOD)
    values[index] = value
    with pytest.raises(RecordError) as caught:
        validate_row(COLUMNS, values, "lab.csv line 7")
    err = caught.value
    assert err.category is Category.SCHEMA_VIOLATION
    assert err.field == COLUMNS[index]
    assert f"lab.csv line 7: field {COLUMNS[index]}={value!r}" in err.message
    assert rule in err.message


def test_every_failing_field_is_named() -> None:
    with pytest.raises(RecordError) as caught:
        validate_row(COLUMNS, ["A1", "ABC-1", "x", "-3", "nowhere", "2024-01-01"], "f line 3")
    assert failing_fields(caught.value) == ["grant_code", "quantity", "location"]


def test_a_header_that_is_not_the_manifest_columns() -> None:
    assert check_columns([*COLUMNS, "notes"]) == "unknown column(s) notes"
    assert check_columns(COLUMNS[:-1]) == "missing column(s) acquisition_date"
    with pytest.raises(RecordError) as caught:
        validate_row([*COLUMNS, "notes"], [*GOOD, "x"], "f line 2")
    assert caught.value.category is Category.SCHEMA_VIOLATION
    assert caught.value.field == "notes"
    assert "unknown column(s) notes" in caught.value.message


BAD_VALUES = {
    "asset_id": st.sampled_from(["", "  ", "a:b", "x,y", "z" * 65]),
    "grant_code": st.text(alphabet="ABCXYZ-19 ", max_size=8).filter(
        lambda s: s.strip().upper()[:4] not in {"NIH-", "NSF-", "DOE-", "DOD-", "EPA-"}
    ),
    "category": st.sampled_from(["", " ", "c" * 65]),
    "quantity": st.sampled_from(["-1", "1.0", "1e3", "", "ten", "+4", "0x10"]),
    "location": st.text(alphabet="AB12- ", max_size=10).filter(
        lambda s: s.strip().upper().count("-") != 2 or s.strip() == "" or " " in s.strip()
    ),
    "acquisition_date": st.sampled_from(
        ["03/15/2024", "2024-3-5", "20240315", "2024-13-01", "2023-02-29", "", "yesterday"]
    ),
}


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_generated_bad_rows_name_exactly_their_bad_fields(data: st.DataObject) -> None:
    bad = data.draw(st.sets(st.sampled_from(COLUMNS), min_size=1), label="bad fields")
    values = list(GOOD)
    for name in bad:
        values[COLUMNS.index(name)] = data.draw(BAD_VALUES[name], label=name)
    with pytest.raises(RecordError) as caught:
        validate_row(COLUMNS, values, "gen line 2")
    assert caught.value.category is Category.SCHEMA_VIOLATION
    assert failing_fields(caught.value) == [c for c in COLUMNS if c in bad]
    assert caught.value.field == next(c for c in COLUMNS if c in bad)
