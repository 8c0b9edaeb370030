"""Running baseline (b), the quixstreams application, and checking its outputs: one outcome
per record read, and ledger totals equal to the reference to the cent."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from streams.domain.accrual.reference import TotalKey
from streams.formats import avro
from streams.formats.csv_source import read_csv_records
from streams.kafka import topics as t
from streams.kafka.clients import admin_client
from streams.kafka.read import read_topic
from streams.kafka.topics import create_topics
from streams.ops.ledger import distinct_entries
from streams.settings import Settings
from streams.tools.bench.compute import KINDS, LEDGER, OUTCOME
from streams.tools.bench.ours import IngestRun, first_timestamp_ms, ingest, partition_counts
from streams.tools.bench.procs import per_second, run_child
from streams.tools.bench.setup import Workload
from streams.tools.references import differences

REPO = Path(__file__).resolve().parents[3]  # the checkout: streams/tools/bench/quix.py
QUIX_PYTHON = REPO / ".venv-quix" / "bin" / "python"
OUT_PREFIX = "quix"  # its outputs: <prefix>.quix.outcome, .dlq, .ledger, .agreement


@dataclass(frozen=True)
class QuixRun:
    lines: int
    ingest: IngestRun
    e2e_seconds: float
    seconds: float  # the app process's wall time, start-up and idle stop included
    peak_rss_mb: float
    cpu_seconds: float
    entries: int
    problems: list[str]
    outputs: dict[str, int]  # messages on each output topic (ledger: distinct entries)

    @property
    def e2e_rate(self) -> float:
        return per_second(self.lines, self.e2e_seconds)

    @property
    def cpu_rate(self) -> float:
        return per_second(self.lines, self.cpu_seconds)

    @property
    def cpu_us_per_line(self) -> float:
        return self.cpu_seconds / self.lines * 1e6 if self.lines else 0.0


def quix_available(python: Path = QUIX_PYTHON) -> bool:
    return python.exists()


def run_quix(
    settings: Settings,
    workload: Workload,
    expected: dict[TotalKey, Decimal],
    *,
    python: Path = QUIX_PYTHON,
    timeout: float = 900.0,
) -> QuixRun:
    create_topics(settings)
    # Agreements first: quixstreams aligns concatenated topics by timestamp, so agreements
    # ingested after the sales would reach it after every sale (each sale then posts
    # nothing and the agreement re-rates once), a much lighter job than our worker's, which
    # reads both topics at once and so applies the few agreements early. Timing starts at
    # the first sale either way.
    ingest(settings, "promotions", str(workload.promotions), timeout)
    pos = ingest(settings, "pos", str(workload.pos), timeout)
    prefix = settings.topic(OUT_PREFIX)
    topics = {kind: f"{prefix}.{kind}" for kind in KINDS}
    # quixstreams stamps outputs with the input's timestamp: let the broker stamp them.
    specs = [
        NewTopic(name, settings.partitions, settings.replication_factor,
                 config={"message.timestamp.type": "LogAppendTime"})
        for name in topics.values()
    ]  # fmt: skip
    admin = admin_client(settings)  # kept alive until the futures resolve
    for future in admin.create_topics(specs).values():
        future.result()
    argv = [
        str(python), "-m", "streams.tools.bench.quix_app", settings.bootstrap, settings.app_id,
        settings.topic(t.RAW_POS), settings.topic(t.RAW_PROMOTIONS), prefix,
        str(settings.home / "quix-state"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("VIRTUAL_ENV", None)
    run = run_child(argv, env, timeout)
    messages = list(read_topic(settings, topics[LEDGER]))
    last_ms = max((m.timestamp()[1] for m in messages), default=0)
    first_ms = first_timestamp_ms(settings, settings.topic(t.RAW_POS))
    ledger = distinct_entries(avro.decode("ledger_entry", m.value() or b"") for m in messages)
    outputs = {kind: sum(partition_counts(settings, topics[kind])) for kind in KINDS}
    outputs[LEDGER] = len(ledger.entries)  # distinct: a re-produced copy counts once
    records = workload.lines + records_in(workload.promotions)
    problems = differences(ledger, expected)
    if outputs[OUTCOME] != records:
        problems.append(f"{outputs[OUTCOME]} outcomes for {records} records read")
    return QuixRun(
        lines=workload.lines,
        ingest=pos,
        e2e_seconds=max(last_ms - first_ms, 0) / 1000,
        seconds=run.seconds,
        peak_rss_mb=run.peak_rss_mb,
        cpu_seconds=run.cpu_seconds,
        entries=len(ledger.entries),
        problems=problems,
        outputs=outputs,
    )


def records_in(path: Path) -> int:
    """Data records of a CSV file (what ingest publishes, one message each)."""
    _, records = read_csv_records(path)
    return sum(1 for _ in records)
