"""Excel manifests read as CSV records: cell text as a person sees it, sheet row numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from streams.formats.csv_source import IngestError
from streams.formats.xlsx_source import XlsxRecords
from tests.xlsx_writer import write_xlsx

pytestmark = pytest.mark.unit

HEADER = ["asset_id", "grant_code", "category", "quantity", "location", "acquisition_date"]


def test_rows_become_csv_records_with_their_sheet_row(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "m.xlsx",
        [
            HEADER,
            ["MS-1", "NIH-R01", "reagent, dry", 12, "CHEM-214-S3", date(2024, 3, 15)],
            [],
            ["MS-2", "nsf-9", "glass", 2.5, "BIO-1-1", "03/15/2024"],
        ],
    )
    with XlsxRecords(path) as source:
        assert source.columns == HEADER
        assert source.header == ",".join(HEADER)
        records = [(r.line, r.raw) for r in source]
        assert source.bytes_read == path.stat().st_size
    assert records == [
        (2, b'MS-1,NIH-R01,"reagent, dry",12,CHEM-214-S3,2024-03-15'),
        (4, b"MS-2,nsf-9,glass,2.5,BIO-1-1,03/15/2024"),
    ]


def test_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    bad = tmp_path / "m.xlsx"
    bad.write_text("asset_id,grant_code\n")
    with pytest.raises(IngestError, match=r"m.xlsx is not a readable .xlsx workbook"):
        XlsxRecords(bad)


def test_an_empty_workbook(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no rows"):
        XlsxRecords(write_xlsx(tmp_path / "e.xlsx", []))
