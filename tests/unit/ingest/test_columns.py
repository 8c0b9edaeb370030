"""The once-per-file warning for a header row with none of the expected columns."""

from __future__ import annotations

import pytest

from streams.domain.inventory.rows import COLUMNS
from streams.ingest.columns import EXPECTED, header_warning

pytestmark = pytest.mark.unit


def test_a_header_with_one_expected_column_is_left_to_the_per_record_errors() -> None:
    assert header_warning("pos", "pos.csv", ["vendor_id", "whatever"]) is None
    assert header_warning("pos", "pos.csv", list(EXPECTED["pos"])) is None
    assert header_warning("edi", "orders.edi", []) is None  # X12 has no header row


def test_a_header_with_none_names_what_was_expected_and_what_was_found() -> None:
    warning = header_warning("trades", "t.csv", ["sku", "qty\x1b"])
    assert warning is not None
    assert warning.startswith("t.csv: the header row has none of the trades columns")
    assert "expected version, buyer, seller, product," in warning
    assert "found 'sku', 'qty\\x1b')" in warning  # repr: control characters escaped
    assert warning.endswith("each record will be dead-lettered as schema_violation")
    assert "UTF-16" not in warning


def test_a_utf16_header_gets_a_hint_and_a_long_one_is_cut() -> None:
    text = "txn_id,sold_at".encode("utf-16").decode("utf-8-sig", errors="replace")
    warning = header_warning("pos", "pos.csv", text.split(","))
    assert warning is not None and "UTF-16? ingest reads UTF-8" in warning
    long = header_warning("promotions", "p.csv", [f"c{n}" for n in range(500)])
    assert long is not None and "'c1', 'c2'" in long and "'c499'" not in long and "…" in long


def test_an_inventory_header_must_be_exactly_the_manifest_columns() -> None:
    assert header_warning("inventory", "lab.csv", list(COLUMNS)) is None
    warning = header_warning("inventory", "lab.csv", [*COLUMNS, "notes"])
    assert warning is not None
    assert warning.startswith("lab.csv: the header row is not the manifest's columns")
    assert "unknown column(s) notes" in warning and "quarantined as schema_violation" in warning
