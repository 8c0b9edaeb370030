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
from pathlib import Path

from confluent_kafka import KafkaException

from streams.formats import avro
from streams.formats import headers as h
from streams.formats.csv_source import CsvRecords
from streams.ingest.producer import (
    DeliveryTally,
    RunContext,
    produce,
    record_headers,
    utc_now_iso,
)
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
    """Produce up to ``rate * seconds`` POS lines of ``path`` at ``rate`` lines/s."""
    topic = settings.topic(t.RAW_POS)
    producer = clients.producer(settings, "ingest")
    tally = DeliveryTally()
    limit = max(1, int(rate * seconds))
    run_id = uuid.uuid4().hex
    sent = 0
    with CsvRecords(path) as source:
        constant = RunContext(run_id, path.name, "-", "pos-csv", source.header).constant_headers()
        index = key_index(source.columns)
        start = time.perf_counter()
        for line, raw in source:
            delay = start + sent / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            headers = record_headers(constant, run_id, line, utc_now_iso(), "-")
            produce(producer, topic, record_key(raw, index), raw, headers, tally)
            producer.poll(0)
            sent += 1
            if sent >= limit:
                break
    if producer.flush(60) or tally.failed:
        raise BenchError(f"latency stage: paced ingest failed: {tally.first_error}")
    return sent


def line_latencies(settings: Settings) -> list[float]:
    produced: dict[str, int] = {}
    for msg in read_topic(settings, settings.topic(t.RAW_POS)):
        for header in msg.headers() or ():
            name, value = header[0], header[1]
            if name == h.CORRELATION_ID and isinstance(value, bytes):
                produced[value.decode()] = msg.timestamp()[1]
    first_entry: dict[str, int] = {}
    for msg in read_topic(settings, settings.topic(t.LEDGER)):
        correlation = avro.decode("ledger_entry", msg.value() or b"")["correlation_id"]
        ts = msg.timestamp()[1]
        if correlation in produced and ts < first_entry.get(correlation, ts + 1):
            first_entry[correlation] = ts
    return [(ts - produced[c]) / 1000 for c, ts in first_entry.items()]


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
