"""Chunk framing: records back to back in one value, located by two headers."""

from __future__ import annotations

import pytest

from streams.errors import Category, RecordError
from streams.formats import chunks
from streams.formats import headers as h
from streams.formats.records import source_of_message

pytestmark = pytest.mark.unit

RECORDS = [(2, b"a,b"), (3, b'"multi\nline",x'), (5, b""), (9, "é,ü".encode())]


def message(records: list[tuple[int, bytes]], offset: int = 40, **extra: bytes) -> chunks.Chunk:
    value, framing = chunks.frame(records)
    headers = [
        (h.CORRELATION_ID, b"run1"),
        (h.TRACEPARENT, b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        (h.SOURCE_FILE, b"pos.csv"),
        *framing,
        *extra.items(),
    ]
    chunk = chunks.chunk_of(source_of_message("raw.pos", 3, offset, None, value, headers))
    assert chunk is not None
    return chunk


def test_frame_and_unframe_give_back_every_record_byte_for_byte() -> None:
    chunk = message(RECORDS)
    assert list(zip(chunk.lines, chunk.records, strict=True)) == RECORDS


def test_each_record_keeps_its_own_identity() -> None:
    chunk = message(RECORDS)
    src = chunk.source(1)
    assert (src.correlation_id, src.line, src.value, src.index) == ("run1:3", 3, RECORDS[1][1], 1)
    assert (src.offset, src.partition, src.key) == (40, 3, None)
    assert chunks.LINES not in src.headers and chunks.LENGTHS not in src.headers
    # Same trace as the chunk, own span, the same every time it is derived.
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    assert src.headers[h.TRACEPARENT].split("-")[1] == trace_id
    assert src.headers[h.TRACEPARENT] != chunk.source(2).headers[h.TRACEPARENT]
    assert message(RECORDS).source(1).headers[h.TRACEPARENT] == src.headers[h.TRACEPARENT]
    assert chunk.record_id(3) == "run1:9" and chunk.correlation_id == "run1:2-9"
    assert chunk.position(3) == (40 << 16) | 3 and chunk.ref(3).position == chunk.position(3)


def test_a_replayed_chunk_gives_its_records_replay_ids() -> None:
    value, framing = chunks.frame(RECORDS)
    src = source_of_message(
        "raw.pos", 0, 1, None, value, [(h.CORRELATION_ID, b"replay-r9:run1"), *framing]
    )
    chunk = chunks.chunk_of(src)
    assert chunk is not None and chunk.record_id(0) == "replay-r9:run1:2"


def test_a_message_without_framing_is_one_record() -> None:
    assert chunks.chunk_of(source_of_message("raw.pos", 0, 1, b"k", b"a,b", [])) is None


@pytest.mark.parametrize(
    ("lines", "lengths"),
    [("2,3", "3"), ("2,x", "1,2"), ("2,3", "1,1"), ("2,3", "4,-1")],
)
def test_framing_that_does_not_fit_the_value_is_a_parse_error(lines: str, lengths: str) -> None:
    headers = [(chunks.LINES, lines.encode()), (chunks.LENGTHS, lengths.encode())]
    src = source_of_message("raw.pos", 0, 1, None, b"abc", headers)
    with pytest.raises(RecordError) as caught:
        chunks.chunk_of(src)
    assert caught.value.category is Category.PARSE_ERROR
    assert "raw.pos[0]@1" in str(caught.value)


def lines_of(closed: list[chunks.OpenChunk]) -> list[tuple[int, list[int]]]:
    return [(c.partition, [line for line, _ in c.records]) for c in closed]


def test_the_chunker_bounds_records_bytes_and_time() -> None:
    chunker = chunks.Chunker(max_records=3, max_bytes=10)
    closed = [c for i in range(7) for c in chunker.add(i % 2, i, b"xx", "t", float(i))]
    assert lines_of(closed) == [(0, [0, 2, 4]), (1, [1, 3, 5])]  # full at 3 records
    assert chunker.add(2, 10, b"xxxx", "t", 7.0) == []
    assert chunker.add(2, 11, b"xxxx", "t", 8.0) == []
    assert lines_of(chunker.add(2, 12, b"xxxx", "t", 9.0)) == [(2, [10, 11])]  # 12 bytes > 10
    assert lines_of(chunker.opened_before(8.5)) == [(0, [6])]  # waited long enough
    assert lines_of(chunker.close_all()) == [(2, [12])]


def test_a_chunk_holds_at_most_what_a_position_can_index() -> None:
    with pytest.raises(ValueError, match="65536"):
        chunks.frame([(n, b"") for n in range(chunks.MAX_RECORDS + 1)])
