"""Fuzzing the CSV reader and ingest's keying with hostile files (tests/unit/hostile.py).

Properties: nothing but IngestError (a file without a header row) comes out of the reader;
every physical line of the file is in exactly one record (the header's included) or is
blank, and each record's bytes are exactly its lines' bytes less the last terminator; the
keying of every ingest kind gives every record a key, whatever its bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.formats.csv_source import CsvRecords, IngestError, RawRecord, _chomp
from streams.kafka.partitioner import keyer
from tests.unit.hostile import csv_files

pytestmark = pytest.mark.unit

POS = "txn_id,line_no,store_id,sku,vendor_id,qty,unit_price,currency,sold_at"
TRADES = "trade_id,version,buyer,seller,product,delivery_start,delivery_end,currency,status"
FUZZ = settings(max_examples=250, deadline=None)


def read(data: bytes, max_record_bytes: int) -> tuple[CsvRecords, list[RawRecord]] | None:
    """The reader (closed) and its records, or None for a file without a header row."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.csv"
        path.write_bytes(data)
        try:
            source = CsvRecords(path, max_record_bytes=max_record_bytes)
        except IngestError:
            assert not data.strip(), "only a file of blank lines has no header row"
            return None
        with source:
            return source, list(source)


def physical_lines(data: bytes) -> list[bytes]:
    """Lines as the reader sees them: only LF ends one (a lone CR is data)."""
    parts = data.split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def spanned(lines: list[bytes], first: int, count: int) -> bytes:
    return _chomp(b"".join(lines[first - 1 : first - 1 + count]))


@FUZZ
@given(csv_files(POS), st.sampled_from((64, 1 << 20)))
def test_every_line_ends_in_exactly_one_record(data: bytes, max_record_bytes: int) -> None:
    found = read(data, max_record_bytes)
    if found is None:
        return
    source, records = found
    lines = physical_lines(data)
    # The header keeps its text only; its line breaks (never replaced) give its span.
    span = source.header.count("\n") + 1
    header = spanned(lines, source.header_line, span)
    assert header.decode("utf-8-sig", errors="replace") == source.header
    owner: dict[int, RawRecord] = {}
    for rec in [RawRecord(source.header_line, header), *records]:
        covered = range(rec.line, rec.line + rec.raw.count(b"\n") + 1)
        assert spanned(lines, rec.line, len(covered)) == rec.raw, rec
        for i in covered:
            assert i not in owner, f"line {i} is in {owner[i]} and in {rec}"
            owner[i] = rec
    lost = [(i, line) for i, line in enumerate(lines, start=1) if i not in owner]
    assert all(not line.strip() for _, line in lost), lost
    assert source.bytes_read == len(data)
    assert [rec.line for rec in records] == sorted(rec.line for rec in records)


@FUZZ
@given(csv_files(TRADES), st.sampled_from(("pos", "promotions", "trades", "confirmations")))
def test_ingest_keys_every_record_whatever_its_bytes(data: bytes, kind: str) -> None:
    found = read(data, 1 << 20)
    if found is None:
        return
    source, records = found
    key_of = keyer(kind, source.columns)
    for rec in records:
        key = key_of(rec.raw)
        assert isinstance(key, bytes) and key
