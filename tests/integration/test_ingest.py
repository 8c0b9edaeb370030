"""Ingest against the real broker: bytes, headers, co-partitioning and the manifest."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from streams.domain.models.parsing import parse_columns
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.chunks import LINES, chunk_of
from streams.formats.records import source_of_message
from streams.ingest.producer import IngestError, ingest_file
from streams.kafka.partitioner import keyer
from streams.kafka.topics import MANIFESTS, RAW_POS, RAW_PROMOTIONS, create_topics
from streams.settings import Settings

pytestmark = pytest.mark.integration

VENDORS = [f"V{i}" for i in range(1, 13)]
POS_HEADER = b"txn_id,line_no,store_id,sku,vendor_id,qty,unit_price,currency,sold_at"
PROMO_HEADER = (
    b"agreement_id,vendor_id,skus,start_date,end_date,basis,period,tier_method,tiers,currency"
)


def murmur2_partition(key: bytes, partitions: int) -> int:
    """Java Kafka's DefaultPartitioner for a keyed record (reference for compatibility)."""
    m, r, length = 0x5BD1E995, 24, len(key)
    h32 = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h32 = ((h32 * m) & 0xFFFFFFFF) ^ k
    tail = key[length - length % 4 :]
    if tail:
        for i in reversed(range(len(tail))):
            h32 ^= tail[i] << (8 * i)
        h32 = (h32 * m) & 0xFFFFFFFF
    h32 ^= h32 >> 13
    h32 = (h32 * m) & 0xFFFFFFFF
    h32 ^= h32 >> 15
    return (h32 & 0x7FFFFFFF) % partitions


def consume_all(settings: Settings, topic: str) -> list[Message]:
    """Every message of ``topic``, read from the beginning of all partitions."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        todo = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                todo[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        out: list[Message] = []
        while todo:
            msg = consumer.poll(10)
            assert msg is not None, f"timed out reading {topic}; still waiting on {todo}"
            assert msg.error() is None, msg.error()
            out.append(msg)
            offset, partition = msg.offset(), msg.partition()
            assert offset is not None and partition is not None
            if offset + 1 >= todo.get(partition, 0):
                todo.pop(partition, None)
        return out
    finally:
        consumer.close()


def write_csv(path: Path, header: bytes, records: list[bytes | None]) -> list[tuple[int, bytes]]:
    """Write CRLF CSV (None = a blank line); return the expected (line, raw) records."""
    expected: list[tuple[int, bytes]] = []
    line = 2
    with path.open("wb") as f:
        f.write(header + b"\r\n")
        for raw in records:
            if raw is None:
                f.write(b"  \r\n")
                line += 1
                continue
            f.write(raw + b"\r\n")
            expected.append((line, raw))
            line += raw.count(b"\n") + 1
    return expected


def pos_records() -> list[bytes | None]:
    sold = b"2025-01-01T10:00:00Z"
    records: list[bytes | None] = [
        b"T%d,1,S1,SKU%d,%s,2,9.99,EUR,%s" % (n, n, v.encode(), sold)
        for n, v in enumerate(VENDORS * 3)
    ]
    records += [
        None,
        b'TQ,1,S1,"SKU\r\nwith newline",V1,1,1.00,EUR,' + sold,  # quoted newline
        b"TB,1,S1,SKU\xff\xfe,V2,1,1.00,EUR," + sold,  # not UTF-8: hashed key
        b"TE,1,S1,SKU,,1,1.00,EUR," + sold,  # no vendor: hashed key
        b"garbage",  # wrong shape: still published, the agents dead-letter it
    ]
    return records


def promo_records() -> list[bytes | None]:
    return [
        b'A%s,%s,"SKU1,SKU2",2025-01-01,2025-12-31,units,monthly,retro,"[[0, 0.05]]",EUR'
        % (v.encode(), v.encode())
        for v in VENDORS
    ]


def hdrs_of(msg: Message) -> dict[str, str]:
    return h.to_dict(cast(Any, msg.headers()))  # the stubs type header values loosely


@dataclass(frozen=True)
class Published:
    """One record as published: alone in its message, or one of a chunk's."""

    raw: bytes
    partition: int
    key: bytes  # its message's key, or for a chunk's record the key its partition came from
    headers: dict[str, str]  # its own (a chunk's record: as the worker derives them)
    chunked: bool


def by_line(messages: list[Message], key_of: Callable[[bytes], bytes]) -> dict[int, Published]:
    out: dict[int, Published] = {}
    for msg in messages:
        src = source_of_message(msg.topic() or "", msg.partition() or 0, msg.offset() or 0,
                                msg.key(), msg.value(), cast(Any, msg.headers()))  # fmt: skip
        chunk = chunk_of(src)
        records = [chunk.source(i) for i in range(len(chunk))] if chunk else [src]
        for rec in records:
            key = rec.key if rec.key is not None else key_of(rec.value)
            assert rec.line not in out, f"line {rec.line} published twice"
            out[rec.line] = Published(rec.value, src.partition, key, rec.headers, bool(chunk))
    return out


@pytest.mark.parametrize("chunk_records", [1, 4, 500])
def test_ingest_round_trip(isolated_settings: Settings, tmp_path: Path, chunk_records: int) -> None:
    settings = isolated_settings.with_overrides(ingest_chunk_records=chunk_records)
    create_topics(settings)
    pos_path, promo_path = tmp_path / "pos.csv", tmp_path / "promos.csv"
    pos_expected = write_csv(pos_path, POS_HEADER, pos_records())
    promo_expected = write_csv(promo_path, PROMO_HEADER, promo_records())

    pos = ingest_file(settings, pos_path, "pos")
    promo = ingest_file(settings, promo_path, "promotions")
    assert (pos.rows_read, pos.rows_published) == (len(pos_expected), len(pos_expected))
    assert (promo.rows_read, promo.rows_published) == (len(VENDORS), len(VENDORS))
    assert pos.topic == settings.topic(RAW_POS)
    assert pos.bytes_read == pos_path.stat().st_size

    messages = consume_all(settings, settings.topic(RAW_POS))
    pos_msgs = by_line(messages, keyer("pos", parse_columns(POS_HEADER.decode())))
    assert sorted(pos_msgs) == [line for line, _ in pos_expected]  # each record exactly once
    assert all(p.chunked for p in pos_msgs.values()) is (chunk_records > 1)
    if chunk_records > 1:  # fewer messages than records, none over the bound
        assert len(messages) < len(pos_expected)
        assert all(len(hdrs_of(m)[LINES].split(",")) <= chunk_records for m in messages)
    sha = hashlib.sha256(pos_path.read_bytes()).hexdigest()
    for line, raw in pos_expected:
        hdrs = pos_msgs[line].headers
        assert pos_msgs[line].raw == raw  # bytes untouched
        assert hdrs[h.CORRELATION_ID] == f"{pos.run_id}:{line}"
        assert hdrs[h.RUN_ID] == pos.run_id
        assert hdrs[h.SOURCE_FILE] == "pos.csv"
        assert hdrs[h.FILE_SHA256] == sha == pos.file_sha256
        assert hdrs[h.FORMAT] == "pos-csv"
        assert hdrs[h.COLUMNS] == POS_HEADER.decode()
        assert hdrs[h.INGESTED_AT].endswith("Z")
        assert hdrs[h.TRACEPARENT].startswith("00-") and hdrs[h.TRACEPARENT].endswith("-01")
    key_of = {raw: pos_msgs[line].key for line, raw in pos_expected}
    assert key_of[b"T0,1,S1,SKU0,V1,2,9.99,EUR,2025-01-01T10:00:00Z"] == b"V1"
    assert key_of[b"garbage"] == hashlib.sha256(b"garbage").hexdigest().encode()

    # Co-partitioning: a vendor's sales and agreements share a partition number, and that
    # number is the one Java clients (murmur2) would pick, for a chunk of several vendors'
    # sales sent to an explicit partition as for a keyed record.
    promo_msgs = by_line(consume_all(settings, settings.topic(RAW_PROMOTIONS)), bytes)
    assert [m.raw for _, m in sorted(promo_msgs.items())] == [r for _, r in promo_expected]
    promo_partition = {m.key: m.partition for m in promo_msgs.values()}
    for published in pos_msgs.values():
        assert published.partition == murmur2_partition(published.key, settings.partitions)
        if published.key in promo_partition:
            assert published.partition == promo_partition[published.key]
    assert len(set(promo_partition.values())) > 1  # the vendors really were spread

    manifests = {
        m.key(): avro.decode("ingest_manifest", m.value() or b"")
        for m in consume_all(settings, settings.topic(MANIFESTS))
    }
    body = manifests[pos.run_id.encode()]
    assert body["source_file"] == "pos.csv" and body["record_format"] == "pos-csv"
    assert body["file_sha256"] == sha and body["topic"] == settings.topic(RAW_POS)
    assert (body["rows_read"], body["rows_published"]) == (len(pos_expected),) * 2
    assert body["bytes_read"] == pos_path.stat().st_size
    assert body["started_at"] <= body["finished_at"]
    assert manifests[promo.run_id.encode()]["rows_published"] == len(VENDORS)


def test_ingest_without_topics_fails(isolated_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "pos.csv"
    write_csv(path, POS_HEADER, pos_records())
    with pytest.raises(IngestError, match="recon topics create"):
        ingest_file(isolated_settings, path, "pos")
