"""The streaming .xlsx reader gives the rows python-calamine (the reader it replaced) gave:
on the sample workbooks and on hypothesis-generated cells of every kind."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from streams.formats.csv_source import IngestError
from streams.formats.xlsx_source import XlsxRecords, csv_line
from streams.formats.xlsx_stream import DATETIME, DURATION, OTHER, format_kind
from tests import xlsx_writer as w

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# Cell styles of the generated workbooks: general, built-in date (14), custom date,
# elapsed time (built-in 46 and a custom [h]:mm), a number format, a 12-hour clock.
FORMATS = [(0, None), (14, None), (164, "yyyy-mm-dd"), (46, None), (165, "[h]:mm"),
           (166, '0.00" kg"'), (167, "h:mm AM/PM")]  # fmt: skip
STYLES = (
    f'<styleSheet xmlns="{NS}"><numFmts>'
    + "".join(
        f"<numFmt numFmtId={quoteattr(str(i))} formatCode={quoteattr(c)}/>" for i, c in FORMATS if c
    )
    + "</numFmts><cellXfs>"
    + "".join(f'<xf numFmtId="{i}"/>' for i, _ in FORMATS)
    + "</cellXfs></styleSheet>"
)
SST_REL = (
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def calamine_records(path: Path) -> list[tuple[int, bytes]]:
    """The records as the calamine-based reader produced them (header included)."""
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    start = sheet.start
    out = []
    for number, row in enumerate(sheet.iter_rows(), start=(start[0] if start else 0) + 1):
        cells = list(row)
        while cells and cells[-1] == "":
            cells.pop()
        if cells and not all(isinstance(c, str) and not c.strip() for c in cells):
            out.append((number, csv_line(cells)))
    return out


def streamed_records(path: Path) -> list[tuple[int, bytes]]:
    with XlsxRecords(path) as source:
        return [(source.header_line, source.header.encode()), *((r.line, r.raw) for r in source)]


def write_book(path: Path, rows: list[str], shared: list[str], date1904: bool = False) -> Path:
    sheet = f'<worksheet xmlns="{NS}"><sheetData>{"".join(rows)}</sheetData></worksheet>'
    workbook = w.WORKBOOK.replace("<sheets>", '<workbookPr date1904="1"/><sheets>')
    sst = "".join(f"<si>{s}</si>" for s in shared)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", w.CONTENT_TYPES)
        z.writestr("_rels/.rels", w.RELS)
        z.writestr("xl/workbook.xml", workbook if date1904 else w.WORKBOOK)
        z.writestr(
            "xl/_rels/workbook.xml.rels", w.WORKBOOK_RELS.replace("</Relationships>", SST_REL)
        )
        z.writestr("xl/styles.xml", STYLES)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{NS}">{sst}</sst>')
    return path


def t(text: str, preserve: bool) -> str:
    space = ' xml:space="preserve"' if preserve else ""
    return f"<t{space}>{escape(text)}</t>"


# Text an XML 1.0 document can carry (no other control characters, no surrogates).
texts = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n\t"), max_size=12
).map(lambda s: s.replace("\r", ""))
serials = st.one_of(
    st.integers(-2, 80).map(float),
    st.floats(-1, 2_958_470, allow_nan=False),
    st.integers(1, 3_000_000).map(lambda d: d + 0.5),
)


@st.composite
def cell(draw: st.DrawFn, ref: str, shared: list[str]) -> str:
    kind = draw(st.sampled_from(["empty", "inline", "shared", "rich", "number", "serial",
                                 "bool", "error", "formula"]))  # fmt: skip
    if kind == "empty":
        return draw(st.sampled_from(["", f'<c r="{ref}"/>', f'<c r="{ref}" s="1"><v></v></c>']))
    if kind == "inline":
        return f'<c r="{ref}" t="inlineStr"><is>{t(draw(texts), draw(st.booleans()))}</is></c>'
    if kind in ("shared", "rich"):
        if kind == "shared":
            shared.append(t(draw(texts), draw(st.booleans())))
        else:
            runs = draw(st.lists(st.tuples(texts, st.booleans()), min_size=1, max_size=3))
            shared.append("".join(f"<r>{t(x, p)}</r>" for x, p in runs) + "<rPh><t>x</t></rPh>")
        return f'<c r="{ref}" t="s"><v>{len(shared) - 1}</v></c>'
    if kind == "number":
        floats = st.floats(allow_nan=False, allow_infinity=False)
        value = draw(st.one_of(st.integers(-(10**20), 10**20), floats))
        style = draw(st.sampled_from([0, 5]))
        return f'<c r="{ref}" s="{style}"><v>{value!r}</v></c>'
    if kind == "serial":
        style = draw(st.sampled_from([1, 2, 3, 4, 6]))
        return f'<c r="{ref}" s="{style}"><v>{draw(serials)!r}</v></c>'
    if kind == "bool":
        return f'<c r="{ref}" t="b"><v>{draw(st.sampled_from(["0", "1"]))}</v></c>'
    if kind == "error":
        return f'<c r="{ref}" t="e"><v>#DIV/0!</v></c>'
    return f'<c r="{ref}" t="str"><f>A1</f><v>{escape(draw(texts))}</v></c>'


@st.composite
def sheets(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    shared: list[str] = []
    # A1 holds text, as a manifest's header does: the sheet starts at A1 for both readers.
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>asset_id</t></is></c></row>']
    number = 1
    for _ in range(draw(st.integers(0, 6))):
        number += draw(st.integers(1, 3))
        columns = sorted(draw(st.sets(st.integers(0, 7), max_size=6)))
        cells = "".join(draw(cell(f"{w.column(c)}{number}", shared)) for c in columns)
        rows.append(f'<row r="{number}">{cells}</row>')
    return rows, shared


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(), st.booleans())
def test_same_rows_as_calamine(
    tmp_path_factory: pytest.TempPathFactory, sheet: tuple[list[str], list[str]], date1904: bool
) -> None:
    path = write_book(tmp_path_factory.mktemp("x") / "h.xlsx", *sheet, date1904=date1904)
    assert streamed_records(path) == calamine_records(path)


@pytest.mark.parametrize(
    "rows",
    [
        [
            ["asset_id", "grant_code", "category", "quantity", "location", "acquisition_date"],
            ["MS-1", "NIH-R01", "reagent, dry", 12, "CHEM-214-S3", date(2024, 3, 15)],
            [],
            ["MS-2", "nsf-9", "glass", 2.5, "BIO-1-1", "03/15/2024"],
            ["MS-3", 'say "hi"', "line\nbreak", -0.1, "", date(1900, 2, 27)],
        ]
    ],
)
def test_same_rows_on_the_test_writer_workbooks(tmp_path: Path, rows: list[list[object]]) -> None:
    path = w.write_xlsx(tmp_path / "m.xlsx", rows)
    assert streamed_records(path) == calamine_records(path)


def test_same_rows_on_the_sample_manifest() -> None:
    path = EXAMPLES / "lab-inventory-2026-04.xlsx"
    records = streamed_records(path)
    assert records == calamine_records(path)
    assert len(records) > 5


def test_cells_go_by_the_sheet_dimension(tmp_path: Path) -> None:
    """A table that starts in column B reads from B (the dimension says so); a cell left
    of the dimension is an error naming it, not a silently shifted row."""
    rows = ['<row r="2"><c r="B2" t="inlineStr"><is><t>asset_id</t></is></c>'
            '<c r="C2"><v>7</v></c></row>']  # fmt: skip
    path = write_book(tmp_path / "b.xlsx", rows, [])
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    for dimension, expected in (("B2:C3", ["asset_id", "7"]), ("C2:C3", None)):
        moved = sheet.replace("<sheetData>", f'<dimension ref="{dimension}"/><sheetData>')
        target = tmp_path / f"{dimension[0]}.xlsx"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
            for item in src.namelist():
                data = moved if item.endswith("sheet1.xml") else src.read(item)
                dst.writestr(item, data)
        if expected is None:
            with pytest.raises(IngestError, match=r"cell B2 of row 2 is left of .* C2:C3"):
                XlsxRecords(target)
        else:
            with XlsxRecords(target) as source:
                assert (source.header_line, source.columns) == (2, expected)


def test_a_broken_sheet_part_is_an_ingest_error(tmp_path: Path) -> None:
    path = write_book(tmp_path / "x.xlsx", ['<row r="1"><c r="A1"><v>1</v></c></row>',
                                           '<row r="2"><c r="A2"><v>2</v>'], [])  # fmt: skip
    with XlsxRecords(path) as source, pytest.raises(IngestError, match="not a readable"):
        list(source)


@pytest.mark.parametrize(
    ("code", "kind"),
    [("yyyy-mm-dd", DATETIME), ("[$-409]d/m/yy", DATETIME), ("hh:mm AM/PM", DATETIME),
     ("ss.0", DATETIME), ("[h]:mm", DURATION), ("[mm]:ss", DURATION), ("0.00", OTHER),
     ('"d"0', OTHER), ("\\d0", OTHER), ("_d0", OTHER), ("0;yyyy", OTHER), ("General", OTHER),
     ("[Red]0", OTHER), ('#,##0 "days"', OTHER)],
)  # fmt: skip
def test_format_kinds(code: str, kind: int) -> None:
    assert format_kind(code) == kind
