"""Excel manifest benchmark: peak RSS and rows/s of the streaming .xlsx reader.

``python -m streams.tools.bench.xlsx [--rows 1000,100000,1000000] [--dir DIR]`` writes, for
each size, a manifest workbook of that many data rows, six columns as Excel writes them
(every text in the shared-string table, asset ids included; quantities as numbers; dates
as serial numbers with a date style), then reads it in a child process with the reader
``recon ingest inventory`` uses (every row turned into its CSV record) and prints the
child's peak RSS and rows/s. The sheet itself is streamed; what grows with the rows is the
shared-string table, held whole (one string per distinct text). Not part of ``make
test``: a 1,000,000-row workbook takes a few minutes to write and read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

from streams.formats.xlsx_source import XlsxRecords
from streams.tools.bench.procs import run_child

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER = ["asset_id", "grant_code", "category", "quantity", "location", "acquisition_date"]
GRANTS = [f"NIH-R01GM{n:06d}" for n in range(40)] + [f"NSF-CHE{n:07d}" for n in range(40)]
CATEGORIES = ["reagent", "solvent", "glassware", "centrifuge", "microscope", "freezer"]
LOCATIONS = [f"CHEM-{room}-S{shelf}" for room in range(100, 140) for shelf in range(1, 9)]
EXCEL_EPOCH = date(1899, 12, 30)
START = date(2020, 1, 1)

PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{RELS_NS}"><Relationship Id="rId1" '
        f'Type="{OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{NS}" xmlns:r="{OFFICE}"><sheets>'
        '<sheet name="Inventory" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{RELS_NS}">'
        f'<Relationship Id="rId1" Type="{OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{OFFICE}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId3" Type="{OFFICE}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        f'<styleSheet xmlns="{NS}"><cellXfs count="2"><xf numFmtId="0"/>'
        '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>'
    ),
}


def write_workbook(path: Path, rows: int) -> Path:
    """A manifest of ``rows`` data rows, written part by part without holding the sheet."""
    strings = HEADER + GRANTS + CATEGORIES + LOCATIONS
    index = {s: i for i, s in enumerate(strings)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in PARTS.items():
            book.writestr(name, text)
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as sst:
            sst.write(f'<sst xmlns="{NS}">'.encode())
            for text in strings:
                sst.write(f"<si><t>{text}</t></si>".encode())
            for i in range(rows):  # Excel keeps every text here, each asset id too
                sst.write(f"<si><t>LAB-{i:07d}</t></si>".encode())
            sst.write(b"</sst>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = "".join(
                f'<c r="{"ABCDEF"[i]}1" t="s"><v>{i}</v></c>' for i in range(len(HEADER))
            )
            sheet.write(
                f'<worksheet xmlns="{NS}"><dimension ref="A1:F{rows + 1}"/><sheetData>'
                f'<row r="1">{head}</row>'.encode()
            )
            chunk: list[str] = []
            for i in range(rows):
                r = i + 2
                day = (START + timedelta(days=i % 2000) - EXCEL_EPOCH).days
                chunk.append(
                    f'<row r="{r}"><c r="A{r}" t="s"><v>{len(strings) + i}</v></c>'
                    f'<c r="B{r}" t="s"><v>{index[GRANTS[i % len(GRANTS)]]}</v></c>'
                    f'<c r="C{r}" t="s"><v>{index[CATEGORIES[i % len(CATEGORIES)]]}</v></c>'
                    f'<c r="D{r}"><v>{i % 500}</v></c>'
                    f'<c r="E{r}" t="s"><v>{index[LOCATIONS[i % len(LOCATIONS)]]}</v></c>'
                    f'<c r="F{r}" s="1"><v>{day}</v></c></row>'
                )
                if len(chunk) == 10_000:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
            sheet.write(("".join(chunk) + "</sheetData></worksheet>").encode())
    return path


def read(path: Path) -> dict[str, float]:
    """Every row of the workbook as the ingest reads it (the child's work)."""
    started = time.perf_counter()
    rows = 0
    with XlsxRecords(path) as source:
        for _ in source:
            rows += 1
    return {"rows": rows, "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,100000,1000000", help="sizes, comma-separated")
    parser.add_argument("--dir", type=Path, help="where the workbooks go (default: a temp dir)")
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)  # the child's side
    args = parser.parse_args(argv)
    if args.read:
        print(json.dumps(read(args.read)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        where = args.dir or Path(tmp)
        print(f"{'rows':>10} {'workbook MB':>12} {'peak RSS MB':>12} {'read s':>8} {'rows/s':>9}")
        for size in (int(n) for n in args.rows.split(",")):
            path = write_workbook(where / f"manifest-{size}.xlsx", size)
            argv_ = [sys.executable, "-m", "streams.tools.bench.xlsx", "--read", str(path)]
            run = run_child(argv_, None, timeout=3600)
            result = run.json()
            if result["rows"] != size:
                raise SystemExit(f"read {result['rows']} rows of {size}")
            mb = path.stat().st_size / 1e6
            rate = size / result["seconds"]
            print(
                f"{size:>10,} {mb:>12.1f} {run.peak_rss_mb:>12.1f} "
                f"{result['seconds']:>8.1f} {rate:>9,.0f}"
            )


if __name__ == "__main__":
    main()
