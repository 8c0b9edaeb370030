"""Quarantine corrections and file chunk hashes, without a broker."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.domain.inventory.rows import COLUMNS
from streams.formats import headers as h
from streams.ops.inventory import file_chunk_hashes
from streams.ops.quarantine import ResubmitError, corrected, fields_of, quarantine_row
from tests.xlsx_writer import write_xlsx

pytestmark = pytest.mark.unit

HEADER = ",".join(COLUMNS)


def dlq(original: bytes, columns: str = HEADER) -> dict[str, Any]:
    return {
        "dlq_id": "ab" * 16,
        "category": "schema_violation",
        "source_file": "lab.csv",
        "source_line": 4,
        "field": "location",
        "error": "lab.csv line 4: field location='Room 12': ...",
        "original": original,
        "original_headers": {h.COLUMNS: columns},
        "first_seen": datetime(2026, 3, 1, tzinfo=UTC),
        "attempts": 1,
    }


def test_a_correction_makes_a_valid_row_of_exactly_the_manifest_columns() -> None:
    rec = dlq(b"EQ-1,NIH-1,scope,1,Room 12,2024-01-02")
    assert fields_of(rec)["location"] == "Room 12"
    assert quarantine_row(rec, False)["asset_id"] == "EQ-1"
    assert corrected(rec, {"location": "BIO-1-1"}) == b"EQ-1,NIH-1,scope,1,BIO-1-1,2024-01-02"
    drifted = dlq(b"2024-01-02,EQ-1,NIH-1,scope,1,BIO-1-1,old", "acquisition_date,asset_id,"
                  "grant_code,category,quantity,location,notes")  # fmt: skip
    assert corrected(drifted, {}) == b"EQ-1,NIH-1,scope,1,BIO-1-1,2024-01-02"


def test_a_correction_that_leaves_the_row_bad_is_refused() -> None:
    rec = dlq(b"EQ-1,NIH-1,scope,1,Room 12,2024-01-02")
    with pytest.raises(ResubmitError, match=r"still quarantined: .*field location='Room 13'"):
        corrected(rec, {"location": "Room 13"})
    with pytest.raises(ResubmitError, match="no such column: room"):
        corrected(rec, {"room": "1"})


def test_the_same_manifest_as_csv_or_xlsx_has_the_same_chunk_hashes(tmp_path: Path) -> None:
    rows = [
        ["EQ-1", "NIH-1", "scope", 1, "BIO-1-1", date(2024, 1, 2)],
        ["EQ-2", "nsf-2", "glass", 4, "bio-1-2", date(2024, 1, 3)],
        ["EQ-3", "XYZ-3", "bad", 1, "BIO-1-1", date(2024, 1, 3)],
    ]
    csv_path = tmp_path / "m.csv"
    csv_path.write_text(HEADER + "\n" + "\n".join(",".join(str(c) for c in r) for r in rows) + "\n")
    xlsx = write_xlsx(tmp_path / "m.xlsx", [list(COLUMNS), *rows])
    by_csv, by_xlsx = file_chunk_hashes(csv_path, 2), file_chunk_hashes(xlsx, 2)
    assert [(c.index, c.first_row, c.last_row) for c in by_csv] == [(0, 1, 2), (1, 3, 3)]
    assert by_csv == by_xlsx
    spaced = tmp_path / "spaced.csv"
    spaced.write_text(HEADER + "\nEQ-1 , nih-1,scope, 1,BIO-1-1,2024-01-02\n"
                      "EQ-2,NSF-2,glass,4,BIO-1-2,2024-01-03\n")  # fmt: skip
    assert file_chunk_hashes(spaced, 2)[0] == by_csv[0]  # normalised: the same payload
