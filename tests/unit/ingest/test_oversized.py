"""Records too large for their raw topic: a DLQ record and an outcome at ingest, not a
failed run (streams/ingest/oversized.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.errors import Category, RecordError, Stage
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.csv_source import IngestError
from streams.formats.edi_source import EDI_FORMAT, EdiRecords
from streams.formats.records import Source, dead_letter_message
from streams.ingest import oversized as o
from streams.ingest.oversized import (
    DLQ_ROOM,
    ORIGINAL_PREFIX_BYTES,
    SMALLEST_LIMIT,
    OversizedRecords,
    message_size,
    record_limit,
)
from streams.ingest.producer import RunContext, record_headers
from streams.observability.metrics import Metrics
from streams.settings import Settings

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
RUN = RunContext("r" * 32, "pos.csv", "ab" * 32, "pos-csv", "txn_id,vendor_id")
TRACEPARENT = f"00-{'1' * 32}-{'2' * 16}-01"


class Sent(list[tuple[str, bytes, bytes, h.HeaderList]]):
    def __call__(self, topic: str, key: bytes, value: bytes, headers: h.HeaderList) -> None:
        self.append((topic, key, value, headers))

    def on(self, topic: str) -> list[tuple[bytes, bytes, h.HeaderList]]:
        return [(k, v, hs) for to, k, v, hs in self if to == topic]


def guard(sent: Sent, limit: int, record_format: str = "pos-csv") -> OversizedRecords:
    return OversizedRecords(
        Settings(topic_prefix="t"), "t.raw.pos", record_format, limit, sent, Metrics()
    )


def headers_of(line: int, run: RunContext = RUN) -> h.HeaderList:
    at = "2026-12-06T08:00:00.000000Z"
    return record_headers(run.constant_headers(), run.run_id, line, at, TRACEPARENT)


def test_a_record_within_the_limit_is_left_to_publish() -> None:
    sent = Sent()
    raw, headers = b"T1,V1", headers_of(2)
    oversized = guard(sent, message_size(b"V1", raw, headers))
    assert oversized.divert(2, b"V1", raw, headers) is False
    assert sent == [] and oversized.dead_lettered == 0


def test_an_oversized_record_gets_a_dlq_record_and_an_outcome() -> None:
    sent, metrics = Sent(), Metrics()
    raw = b"T2,V1," + b"\xff" * 100_000
    oversized = OversizedRecords(
        Settings(topic_prefix="t"), "t.raw.pos", "pos-csv", 50_000, sent, metrics
    )
    assert oversized.divert(3, b"V1", raw, headers_of(3)) is True
    ((dlq_key, dlq_value, dlq_headers),) = sent.on("t.dlq")
    rec = avro.decode("dlq_record", dlq_value)
    assert dlq_key == f"{RUN.run_id}:3".encode() == rec["correlation_id"].encode()
    assert (rec["category"], rec["stage"]) == (Category.OVERSIZED_RECORD, Stage.INGEST)
    assert (rec["source_file"], rec["source_line"], rec["source_topic"]) == (
        "pos.csv",
        3,
        "t.raw.pos",
    )
    assert (rec["source_partition"], rec["source_offset"]) == (-1, -1)
    assert rec["original"] == raw[:ORIGINAL_PREFIX_BYTES]
    assert rec["original_key"] == b"V1"
    assert rec["original_headers"][h.COLUMNS] == "txn_id,vendor_id"
    assert rec["error"].startswith("pos.csv line 3: the record of 100,006 bytes is ")
    assert "over the 50,000-byte record limit of t.raw.pos" in rec["error"]
    assert message_size(dlq_key, dlq_value, dlq_headers) < 50_000  # the dead letter fits
    ((out_key, out_value, out_headers),) = sent.on("t.outcomes")
    outcome = avro.decode("outcome", out_value)
    assert out_key == dlq_key
    assert (outcome["outcome"], outcome["source_file"], outcome["source_line"]) == (
        "dead_lettered",
        "pos.csv",
        3,
    )
    assert outcome["file_sha256"] == RUN.file_sha256
    assert (avro.SCHEMA_HEADER, b"outcome") in out_headers
    assert oversized.dead_lettered == 1
    assert metrics.registry.get_sample_value(
        "recon_dlq_records_total", {"category": "oversized_record", "stage": "ingest"}
    ) == 1


def test_two_oversized_records_have_distinct_dlq_ids() -> None:
    sent = Sent()
    oversized = guard(sent, 1000)
    for line in (2, 9):
        oversized.divert(line, b"V1", b"x" * 2000, headers_of(line))
    ids = {avro.decode("dlq_record", value)["dlq_id"] for _, value, _ in sent.on("t.dlq")}
    assert len(ids) == 2


def test_the_dead_letter_fits_even_with_a_huge_header_row() -> None:
    sent = Sent()
    run = RunContext("r" * 32, "pos.csv", "ab" * 32, "pos-csv", "c," * 400_000)
    headers = headers_of(2, run)
    guard(sent, SMALLEST_LIMIT).divert(2, b"k", b"v", headers)
    ((key, value, dlq_headers),) = sent.on("t.dlq")
    assert message_size(key, value, dlq_headers) < SMALLEST_LIMIT
    kept = avro.decode("dlq_record", value)["original_headers"][h.COLUMNS]
    assert kept.startswith("c,c,") and kept.endswith("…")


def test_an_oversized_x12_set_keeps_its_x12_bytes_not_the_avro_value() -> None:
    sent = Sent()
    run = RunContext("r" * 32, "orders.edi", "ab" * 32, EDI_FORMAT, "x12-transaction-set")
    with EdiRecords(EXAMPLES / "orders.edi") as source:
        position, key, value = next(iter(source))
    oversized = guard(sent, 200, EDI_FORMAT)
    assert oversized.divert(position, key, value, headers_of(position, run))
    ((_, dlq_value, _),) = sent.on("t.dlq")
    rec: dict[str, Any] = avro.decode("dlq_record", dlq_value)
    raw = avro.decode("edi_document", value)["raw"]
    assert rec["original"] == raw[:ORIGINAL_PREFIX_BYTES] and raw.startswith(b"ISA")
    assert rec["error"].startswith(f"orders.edi segment {position}: the X12 set of {len(raw):,}")


def test_the_limit_is_the_smallest_of_the_topics_and_the_setting_less_room_for_a_dlq(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, ...]] = []

    def topic_limit(settings: Settings, *names: str) -> int:
        asked.append(names)
        return 800_000

    monkeypatch.setattr(o.t, "max_message_bytes", topic_limit)
    settings = Settings(topic_prefix="t")
    assert record_limit(settings, "t.raw.pos") == 800_000 - DLQ_ROOM
    assert asked == [("t.raw.pos", "t.dlq", "t.outcomes")]
    tighter = settings.with_overrides(max_record_bytes=100_000)
    assert record_limit(tighter, "t.raw.pos") == 100_000 - DLQ_ROOM
    monkeypatch.setattr(o.t, "max_message_bytes", lambda *args: SMALLEST_LIMIT - 1)
    with pytest.raises(IngestError, match="too small"):
        record_limit(settings, "t.raw.pos")


def test_a_record_at_the_limit_leaves_room_for_the_workers_dead_letter() -> None:
    """The worker's DLQ record of the largest record ingest publishes, with an error that
    quotes its (4-byte character) value, still fits the producers' message.max.bytes."""
    settings = Settings(topic_prefix="t")
    limit = settings.max_record_bytes - DLQ_ROOM
    headers = headers_of(2)
    head = b"T1,1,S1,"
    filler = limit - message_size(b"V1", head, headers)
    value = head + "😀".encode() * (filler // 4) + b"x" * (filler % 4)
    assert message_size(b"V1", value, headers) == limit
    assert not guard(Sent(), limit).divert(2, b"V1", value, headers)  # published as is
    src = Source("t.raw.pos", 5, 10**12, b"V1", value, h.to_dict(headers))
    quoted = f"pos.csv line 2: field sku={value.decode(errors='replace')!r}: too long"
    err = RecordError(Category.SCHEMA_VIOLATION, Stage.VALIDATE, quoted, field="sku")
    key, dlq_value, dlq_headers = dead_letter_message(src, err)
    assert message_size(key, dlq_value, dlq_headers) <= settings.max_record_bytes
