"""Headers, keys and the produce loop of ingest, with a fake producer (no broker)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.formats import avro
from streams.formats import headers as h
from streams.ingest import producer as ingest
from streams.ingest.producer import IngestError, IngestResult, RunContext, utc_now_iso
from streams.ingest.publishers import DeliveryTally, record_headers
from streams.kafka import clients
from streams.kafka.partitioner import record_key
from streams.observability.metrics import Metrics
from streams.observability.tracing import new_traceparent
from streams.settings import Settings

pytestmark = pytest.mark.unit

RUN = RunContext("r" * 32, "pos.csv", "ab" * 32, "pos-csv", "txn_id,vendor_id")


def test_record_headers() -> None:
    got = record_headers(RUN.constant_headers(), RUN.run_id, 7, "2025-01-02T03:04:05.000006Z", "tp")
    assert got == [
        (h.CORRELATION_ID, f"{'r' * 32}:7".encode()),
        (h.LINE, b"7"),
        (h.INGESTED_AT, b"2025-01-02T03:04:05.000006Z"),
        (h.TRACEPARENT, b"tp"),
        (h.SOURCE_FILE, b"pos.csv"),
        (h.FILE_SHA256, b"ab" * 32),
        (h.FORMAT, b"pos-csv"),
        (h.COLUMNS, b"txn_id,vendor_id"),
        (h.RUN_ID, b"r" * 32),
    ]


def test_utc_now_iso_has_micros_and_z() -> None:
    stamp = utc_now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    assert datetime.fromisoformat(stamp).utcoffset() is not None


def test_utc_clock_follows_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ingest.UtcClock()
    base = int(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()) * 10**9
    for offset, expected in [
        (6_000, "2025-01-02T03:04:05.000006Z"),
        (999_999_999, "2025-01-02T03:04:05.999999Z"),
        (10**9 + 1_000, "2025-01-02T03:04:06.000001Z"),
    ]:
        monkeypatch.setattr(time, "time_ns", lambda o=offset: base + o)
        assert clock() == expected


def test_traceparent_is_w3c_and_fresh() -> None:
    parents = {new_traceparent() for _ in range(1000)}
    assert len(parents) == 1000
    for tp in parents:
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", tp)
        assert tp[3:35] != "0" * 32 and tp[36:52] != "0" * 16


def test_record_key_vendor_or_hash_fallback() -> None:
    assert record_key(b"T1,V1,3", 1) == b"V1"
    for raw, index in [(b"T1,,3", 1), (b"T1", 1), (b"T1,V\xff,3", 1), (b"T1,V1", None)]:
        assert record_key(raw, index) == hashlib.sha256(raw).hexdigest().encode()


def test_summary_line() -> None:
    result = IngestResult("r", "pos.csv", "s", "pos-csv", "p.raw.pos", 10, 10, 123, 2.0)
    assert result.summary() == (
        "ingested pos.csv: 10 rows read, 10 published to p.raw.pos (123 bytes, 2.00 s, 5 rows/s)"
    )


class FakeProducer:
    """Records produced messages; raises BufferError every ``full_every`` calls."""

    def __init__(self, fail_lines: frozenset[bytes] = frozenset(), full_every: int = 3) -> None:
        self.sent: list[dict[str, Any]] = []
        self.pending: list[tuple[Callable[..., None], dict[str, Any]]] = []
        self.fail_lines = fail_lines
        self.full_every = full_every
        self.calls = 0
        self.buffer_errors = 0

    def produce(self, topic: str, **kw: Any) -> None:
        self.calls += 1
        if self.calls % self.full_every == 0:
            self.buffer_errors += 1
            raise BufferError("queue full")
        self.pending.append((kw.pop("on_delivery"), {"topic": topic, **kw}))

    def poll(self, timeout: float = 0) -> int:
        done, self.pending = self.pending, []
        for callback, msg in done:
            line = dict(msg["headers"]).get(h.LINE)
            err = "boom" if line in self.fail_lines else None
            if err is None:
                self.sent.append(msg)
            callback(err, None)
        return len(done)

    def flush(self, timeout: float = -1) -> int:
        self.poll()
        return 0


def run_fake(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake: FakeProducer,
    data: bytes,
    limit: int = 1_000_000,
    metrics: Metrics | None = None,
) -> IngestResult:
    monkeypatch.setattr(clients, "Producer", lambda conf: fake)
    monkeypatch.setattr(ingest, "require_topics", lambda *args, **kwargs: None)
    monkeypatch.setattr(ingest, "record_limit", lambda *args: limit)
    path = tmp_path / "promos.csv"
    path.write_bytes(data)
    return ingest.ingest_file(Settings(topic_prefix="t"), path, "promotions", metrics=metrics)


DATA = b'agreement_id,vendor_id,skus\r\nA1,V1,"S1\r\nS2"\r\n\r\nA2,,S3\r\nA3,V3,S\xff\r\n'


def test_ingest_file_publishes_every_record_then_manifest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeProducer()
    result = run_fake(monkeypatch, tmp_path, fake, DATA)
    assert fake.buffer_errors > 0  # backpressure was retried, not lost
    records = [m for m in fake.sent if m["topic"] == "t.raw.promotions"]
    assert [m["value"] for m in records] == [b'A1,V1,"S1\r\nS2"', b"A2,,S3", b"A3,V3,S\xff"]
    assert [m["key"] for m in records] == [
        b"V1",
        hashlib.sha256(b"A2,,S3").hexdigest().encode(),  # empty vendor
        hashlib.sha256(b"A3,V3,S\xff").hexdigest().encode(),  # line is not UTF-8
    ]
    first = h.to_dict(records[0]["headers"])
    assert first[h.LINE] == "2" and first[h.CORRELATION_ID] == f"{result.run_id}:2"
    assert first[h.COLUMNS] == "agreement_id,vendor_id,skus"
    assert first[h.FORMAT] == "promotions-csv" and first[h.SOURCE_FILE] == "promos.csv"
    assert first[h.FILE_SHA256] == hashlib.sha256(DATA).hexdigest() == result.file_sha256
    assert [h.to_dict(m["headers"])[h.LINE] for m in records] == ["2", "5", "6"]

    (manifest,) = [m for m in fake.sent if m["topic"] == "t.manifests"]
    assert manifest["key"] == result.run_id.encode()
    assert (avro.SCHEMA_HEADER, b"ingest_manifest") in manifest["headers"]
    body = avro.decode("ingest_manifest", manifest["value"])
    assert (body["rows_read"], body["rows_published"], body["bytes_read"]) == (3, 3, len(DATA))
    assert (result.rows_read, result.rows_published, result.bytes_read) == (3, 3, len(DATA))
    assert result.warnings == ()  # agreement_id, vendor_id and skus are expected columns
    assert body["started_at"] <= body["finished_at"]


def test_failed_deliveries_raise_after_flush(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeProducer(fail_lines=frozenset({b"5"}), full_every=1000)
    metrics = Metrics()
    with pytest.raises(IngestError, match=r"1 of 3 records .*first error: boom"):
        run_fake(monkeypatch, tmp_path, fake, DATA, metrics=metrics)
    (manifest,) = [m for m in fake.sent if m["topic"] == "t.manifests"]
    body = avro.decode("ingest_manifest", manifest["value"])
    assert (body["rows_read"], body["rows_published"]) == (3, 2)  # the gap is on record
    errors = metrics.registry.get_sample_value("recon_producer_errors_total", {"client": "ingest"})
    assert errors == 1


def test_a_record_over_the_limit_is_dead_lettered_not_published(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    huge = b"A9,V9," + b"S" * 5000
    fake = FakeProducer(full_every=1000)
    result = run_fake(monkeypatch, tmp_path, fake, DATA + huge + b"\r\n", limit=4096)
    raw = [m for m in fake.sent if m["topic"] == "t.raw.promotions"]
    assert huge not in [m["value"] for m in raw]
    (dlq,) = [m for m in fake.sent if m["topic"] == "t.dlq"]
    (outcome,) = [m for m in fake.sent if m["topic"] == "t.outcomes"]
    assert avro.decode("dlq_record", dlq["value"])["source_line"] == 7
    assert avro.decode("outcome", outcome["value"])["outcome"] == "dead_lettered"
    assert (result.rows_read, result.rows_published, result.rows_dead_lettered) == (4, 3, 1)
    assert "1 dead-lettered as oversized" in result.summary()
    (manifest,) = [m for m in fake.sent if m["topic"] == "t.manifests"]
    body = avro.decode("ingest_manifest", manifest["value"])
    assert (body["rows_read"], body["rows_published"]) == (4, 3)


def test_delivery_tally_keeps_first_error() -> None:
    tally = DeliveryTally()
    tally(None, None)  # type: ignore[arg-type]
    tally("e1", None)  # type: ignore[arg-type]
    tally("e2", None)  # type: ignore[arg-type]
    assert (tally.delivered, tally.failed, tally.first_error) == (1, 2, "e1")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest.ingest_file(Settings(), tmp_path / "nope.csv", "pos")


def test_a_header_without_any_expected_column_is_reported_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = b"sku;qty;price\r\nS1;1;2.00\r\nS2;1;3.00\r\n"  # semicolons: one odd column
    result = run_fake(monkeypatch, tmp_path, FakeProducer(full_every=1000), data)
    (warning,) = result.warnings
    assert warning.startswith("promos.csv: the header row has none of the promotions columns")
    assert "found 'sku;qty;price'" in warning
    assert result.rows_published == 2  # the rows are still published, to be dead-lettered
