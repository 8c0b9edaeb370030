"""Raw record reading, SHA-256 and key-field extraction (no broker)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import deque
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.formats.csv_source import (
    CsvRecords,
    IngestError,
    RawRecord,
    extract_field,
    file_sha256,
    read_csv_records,
    split_records,
)

pytestmark = pytest.mark.unit

HEADER = b"txn_id,line_no,store_id,sku,vendor_id,qty,unit_price,currency,sold_at"
COLUMNS = HEADER.decode().split(",")


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    return path


def records(tmp_path: Path, data: bytes) -> tuple[str, list[RawRecord]]:
    header, rows = read_csv_records(write(tmp_path, data))
    return header, list(rows)


def test_lf_records_with_line_numbers(tmp_path: Path) -> None:
    header, rows = records(tmp_path, HEADER + b"\na,1\nb,2\n")
    assert header == HEADER.decode()
    assert rows == [RawRecord(2, b"a,1"), RawRecord(3, b"b,2")]


def test_crlf_terminators_are_removed(tmp_path: Path) -> None:
    header, rows = records(tmp_path, b"h1,h2\r\na,1\r\nb,2\r\n")
    assert header == "h1,h2"
    assert rows == [RawRecord(2, b"a,1"), RawRecord(3, b"b,2")]


def test_no_trailing_newline(tmp_path: Path) -> None:
    _, rows = records(tmp_path, b"h\na,1\nb,2")
    assert rows == [RawRecord(2, b"a,1"), RawRecord(3, b"b,2")]


def test_lone_cr_is_data(tmp_path: Path) -> None:
    _, rows = records(tmp_path, b"h\na\rb,1\n")
    assert rows == [RawRecord(2, b"a\rb,1")]


def test_blank_lines_skipped_but_counted(tmp_path: Path) -> None:
    _, rows = records(tmp_path, b"h\n\na,1\n   \t\r\n\r\nb,2\n\n")
    assert rows == [RawRecord(3, b"a,1"), RawRecord(6, b"b,2")]


def test_quoted_newlines_join_physical_lines(tmp_path: Path) -> None:
    data = b'h\r\nA1,V1,"SKU1\r\nSKU2\r\n\r\nSKU3",EUR\r\nA2,V2,"x ""q"" y",EUR\r\n'
    _, rows = records(tmp_path, data)
    assert rows == [
        RawRecord(2, b'A1,V1,"SKU1\r\nSKU2\r\n\r\nSKU3",EUR'),
        RawRecord(6, b'A2,V2,"x ""q"" y",EUR'),
    ]


def test_non_utf8_bytes_preserved(tmp_path: Path) -> None:
    bad = b"T1,1,S1,SKU\xff\xfe,V1,1,1.00,EUR,2025-01-01"
    _, rows = records(tmp_path, HEADER + b"\n" + bad + b"\n")
    assert rows == [RawRecord(2, bad)]


def test_unterminated_quote_at_eof_is_one_record(tmp_path: Path) -> None:
    _, rows = records(tmp_path, b'h\na,"open\nb,2\n')
    assert rows == [RawRecord(2, b'a,"open\nb,2')]


def test_stray_quote_cannot_swallow_the_file() -> None:
    lines = [b'a,"stray\n'] + [b"x,%d\n" % i for i in range(50)]
    replay: deque[tuple[int, bytes]] = deque()

    def numbered() -> object:
        for number, line in enumerate(lines, start=2):
            yield number, line
            while replay:
                yield replay.popleft()

    out = list(split_records(numbered(), replay, max_record_bytes=64))  # type: ignore[arg-type]
    assert out[0] == RawRecord(2, b'a,"stray')
    assert out[1:] == [RawRecord(3 + i, b"x,%d" % i) for i in range(50)]


def test_header_bom_stripped_and_columns(tmp_path: Path) -> None:
    with CsvRecords(write(tmp_path, b"\xef\xbb\xbfagreement_id, vendor_id\nA,V\n")) as src:
        assert src.header == "agreement_id, vendor_id"
        assert src.columns == ["agreement_id", "vendor_id"]
        assert list(src) == [RawRecord(2, b"A,V")]
        assert src.bytes_read == 31


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n"])
def test_empty_file_is_an_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(IngestError, match="header"):
        read_csv_records(write(tmp_path, data))


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # > 2 chunks
    assert file_sha256(write(tmp_path, data)) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"T1,1,S1,SKU1,V1,2,9.99,EUR,2025", "V1"),
        (b'T1,1,S1,"SKU,1",V1,2,9.99,EUR,2025', "V1"),
        (b'T1,1,S1,"SKU\r\n1", V\xc3\xa9 ,2,9.99,EUR,2025', "V\u00e9"),
        (b'T1,1,S1,SKU1,"V ""1""",2', 'V "1"'),
        (b"T1,1,S1,SKU1,,2,9.99,EUR,2025", None),  # empty
        (b"T1,1,S1,SKU1,   ,2", None),  # whitespace only
        (b"T1,1,S1", None),  # too few fields
        (b"T1,1,S1,SKU\xff,V1,2", None),  # not UTF-8
        (b'T1,1,S1,"SKU"x,V1,2', None),  # bad quoting
        (b'T1,1,S1,"open,V1,2', None),  # unterminated quote
    ],
)
def test_extract_field(raw: bytes, expected: str | None) -> None:
    assert extract_field(COLUMNS, raw, "vendor_id") == expected


def test_extract_field_missing_column() -> None:
    assert extract_field(["a", "b"], b"1,2", "vendor_id") is None


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8")), min_size=5))
def test_extract_field_agrees_with_csv_writer(fields: list[str]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerow(fields)
    raw = buf.getvalue().removesuffix("\r\n").encode()
    got = extract_field(["a", "b", "c", "d", "vendor_id"], raw, "vendor_id")
    assert got == (fields[4].strip() or None)


@given(
    st.lists(
        st.lists(st.text(alphabet='ab,"\n\r \xe9'), min_size=1, max_size=4), min_size=1, max_size=8
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_round_trip_of_csv_written_rows(rows: list[list[str]], terminator: str) -> None:
    """Whatever csv.writer produces is read back as the same records, byte for byte."""
    written = []
    for row in rows:
        buf = io.StringIO()
        csv.writer(buf).writerow(row)  # default terminator: makes it quote \r and \n
        written.append(buf.getvalue().removesuffix("\r\n").encode())
    expected = [r for r in written if r.strip()]  # blank records are not records
    data = terminator.join(["h", *(r.decode() for r in written)]).encode() + b"\n"
    stream = io.BytesIO(data)
    replay: deque[tuple[int, bytes]] = deque()
    got = [r.raw for r in split_records(enumerate(stream, start=1), replay)]
    assert got[0] == b"h"
    assert got[1:] == expected
