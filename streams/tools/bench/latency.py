"""End-to-end latency at a steady offered load (half the measured maximum).

A running worker (not draining) has applied the agreements first; then POS lines are
produced at a fixed rate, with the same keys, headers and producer settings as ingest.
Latency per line = the ledger entry's broker timestamp minus the raw line's (its produce
time), for lines that posted a ledger entry (the first entry when several).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from confluent_kafka import KafkaException

from streams.formats import avro
from streams.formats import headers as h
from streams.formats.chunks import LINES
from streams.formats.csv_source import CsvRecords
from streams.ingest.oversized import record_limit
from streams.ingest.producer import RunContext, publisher_of, utc_now_iso
from streams.ingest.publishers import DeliveryTally
from streams.ingest.reach import require_topics
from streams.kafka import clients
from streams.kafka import topics as t
from streams.kafka.partitioner import key_index, record_key
from streams.kafka.read import LagProbe, read_topic
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.tools.batch import worker_command
from streams.tools.bench.ours import bench_worker_env, ingest
from streams.tools.bench.procs import BenchError, Child


@dataclass(frozen=True)
class LatencyRun:
    offered_rate: float
    lines: int
    latencies: list[float]  # seconds, one per line that posted a ledger entry


def wait_caught_up(settings: Settings, topics: list[str], group: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    probe = LagProbe(settings, group)  # one client for every question, as a drain does
    try:
        while time.monotonic() < deadline:
            try:
                lags = probe.lag(topics)
            except KafkaException as exc:  # e.g. NOT_COORDINATOR while a new group loads
                last_error, lags = f" (last error: {exc})", []
            if lags and all(lag.committed is not None and lag.behind == 0 for lag in lags):
                return
            time.sleep(0.5)
    finally:
        probe.close()
    raise BenchError(
        f"latency stage: group {group} not caught up on {topics} in {timeout} s{last_error}"
    )


def paced_ingest(settings: Settings, path: Path, rate: float, seconds: float) -> int:
    """Produce up to ``rate * seconds`` POS lines of ``path`` at ``rate`` lines/s, as
    ``recon ingest`` publishes them (chunks closed after ``ingest_chunk_linger_ms``)."""
    topic = settings.topic(t.RAW_POS)
    producer = clients.producer(settings, "ingest")
    tally = DeliveryTally()
    limit = max(1, int(rate * seconds))
    sent = 0
    with CsvRecords(path) as source:
        run = RunContext(uuid.uuid4().hex, path.name, "-", "pos-csv", source.header)
        partitions = require_topics(settings, topic)
        largest = record_limit(settings, topic)
        publisher = publisher_of(settings, "pos", producer, topic, partitions, run, tally, largest)
        index = key_index(source.columns)
        start = time.perf_counter()
        for line, raw in source:
            delay = start + sent / rate - time.perf_counter()
            if delay > 0:
                publisher.publish_due()
                time.sleep(delay)
            publisher.add(line, record_key(raw, index), raw, utc_now_iso())
            producer.poll(0)
            sent += 1
            if sent >= limit:
                break
        publisher.close()
    if producer.flush(60) or tally.failed:
        raise BenchError(f"latency stage: paced ingest failed: {tally.first_error}")
    return sent


def line_latencies(settings: Settings) -> list[float]:
    """Per line, from the moment ingest read it (``recon-ingested-at``; a chunk's is its
    first line's, so a later line of the chunk is charged its wait) to the broker
    timestamp of the first ledger entry that names it."""
    produced: dict[str, float] = {}
    for msg in read_topic(settings, settings.topic(t.RAW_POS)):
        headers = h.to_dict(cast("list[tuple[str, bytes | None]]", msg.headers()))
        read_at = datetime.fromisoformat(headers[h.INGESTED_AT]).timestamp()
        run = headers[h.RUN_ID]
        lines = headers[LINES].split(",") if LINES in headers else [headers[h.LINE]]
        for line in lines:
            produced[f"{run}:{line}"] = read_at
    first_entry: dict[str, float] = {}
    for msg in read_topic(settings, settings.topic(t.LEDGER)):
        correlation = avro.decode("ledger_entry", msg.value() or b"")["correlation_id"]
        ts = msg.timestamp()[1] / 1000
        if correlation in produced and ts < first_entry.get(correlation, ts + 1):
            first_entry[correlation] = ts
    return [max(0.0, ts - produced[c]) for c, ts in first_entry.items()]


def run_latency(
    settings: Settings, pos: Path, promotions: Path, rate: float, seconds: float, timeout: float
) -> LatencyRun:
    create_topics(settings)
    ingest(settings, "promotions", str(promotions), timeout)
    worker = Child(worker_command(), bench_worker_env(settings))
    try:
        wait_caught_up(settings, [settings.topic(t.RAW_PROMOTIONS)], settings.app_id, timeout)
        lines = paced_ingest(settings, pos, rate, seconds)
        wait_caught_up(settings, [settings.topic(t.RAW_POS)], settings.app_id, timeout)
        changelog = t.changelog_topic(settings, t.STATE_TABLE)
        wait_caught_up(settings, [changelog], t.relay_group(settings), timeout)
    finally:
        worker.terminate()
        worker.wait(60)
    return LatencyRun(rate, lines, line_latencies(settings))
