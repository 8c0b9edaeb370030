"""Fuzzing the X12 reader with hostile files: the example and fixture files mutated, or
arbitrary bytes (tests/unit/hostile.py).

Properties: the tokenizer loses no data byte and repeats none (tokens in file order, not
overlapping, each one's bytes those of the file at its offset; between them only
whitespace, NULs and terminators); nothing raises out of the envelope reader, the document
extraction or ingest's encoding of each set or fault; no two transaction sets share a
segment, no two ingest records a position (their correlation id).
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streams.formats import avro
from streams.formats.edi_source import EdiRecords
from streams.formats.x12 import Fault, ParsedDocument, X12Reader, parse_sets
from streams.formats.x12.tokenizer import MAX_GARBAGE_RAW, Garbage, Segment, tokenize
from tests.unit.hostile import x12_files

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[4]
FILES = [*(ROOT / "tests" / "fixtures" / "x12").glob("*.edi"), *(ROOT / "examples").glob("*.edi")]
EXAMPLES = [path.read_bytes() for path in sorted(FILES)]
FUZZ = settings(max_examples=200, deadline=None)
DATA_BYTE = re.compile(rb"[A-Za-z0-9]")


@FUZZ
@given(x12_files(EXAMPLES), st.sampled_from((3, 64, 1 << 20)))
# A last segment without terminator that is not a segment: its length counted a
# terminator byte past the end of the file.
@example(
    b"ISA\x00\x00\x00\x00\x00\x00\x00\x00\x00000000\x000000\x00\x00\x000\x00\x00\x00"
    b"\x01\x02\x01",
    3,
)
def test_the_tokenizer_loses_and_repeats_no_data_byte(data: bytes, chunk_size: int) -> None:
    end = 0
    for token in tokenize(io.BytesIO(data), chunk_size):
        gap = data[end : token.offset]
        assert token.offset >= end, f"{token} overlaps the previous token"
        assert not DATA_BYTE.search(gap.removeprefix(b"\xef\xbb\xbf")), (end, gap)
        if isinstance(token, Segment):
            assert data[token.offset : token.offset + len(token.raw)] == token.raw
            end = token.offset + len(token.raw)
        else:
            assert isinstance(token, Garbage)
            assert data[token.offset : token.offset + len(token.raw)] == token.raw
            assert len(token.raw) == min(token.length, MAX_GARBAGE_RAW)
            end = token.offset + token.length
    assert not DATA_BYTE.search(data[end:]), data[end:]


@FUZZ
@given(x12_files(EXAMPLES), st.sampled_from((3, 1 << 20)))
def test_every_set_reads_as_one_document_or_fault(data: bytes, chunk_size: int) -> None:
    items = list(parse_sets(X12Reader(io.BytesIO(data), chunk_size=chunk_size)))
    claimed: set[int] = set()
    for item in items:
        assert isinstance(item, ParsedDocument | Fault)
        if isinstance(item, ParsedDocument):
            indexes = {seg.segment_index for seg in item.transaction_set.segments}
            assert not indexes & claimed, "two sets share a segment"
            claimed |= indexes
        else:
            assert item.error.category and item.error.message


@settings(max_examples=100, deadline=None)
@given(x12_files(EXAMPLES))
def test_ingest_encodes_every_set_and_fault_at_a_position_of_its_own(data: bytes) -> None:
    """The position is the record's correlation id within the run (`<run>:<segment>`):
    two records at one position would share one outcome, and the file never reconcile."""
    positions = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.edi"
        path.write_bytes(data)
        with EdiRecords(path) as source:
            for position, key, value in source:
                record = avro.decode("edi_document", value)
                assert record["segment_index"] == position and key
                positions.append(position)
        assert source.bytes_read == len(data)
    assert len(set(positions)) == len(positions), positions
