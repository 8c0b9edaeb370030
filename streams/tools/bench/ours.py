"""Our pipeline end to end: ingest (child), `recon worker --drain` x N (children), ledger.

Throughput end to end is measured from the first raw line's broker timestamp to the last
ledger entry's, so it covers ingest, worker start-up, processing and the outbox relay.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal

from streams.domain.accrual.reference import TotalKey
from streams.formats import avro
from streams.kafka import topics as t
from streams.kafka.clients import consumer
from streams.kafka.read import partitions, read_topic
from streams.kafka.topics import create_topics
from streams.ops.ledger import distinct_entries
from streams.settings import Settings
from streams.tools.batch import worker_command, worker_env
from streams.tools.bench.procs import BenchError, Child, ChildRun, per_second, run_child
from streams.tools.bench.setup import Workload
from streams.tools.references import differences


@dataclass(frozen=True)
class IngestRun:
    rows: int
    seconds: float
    peak_rss_mb: float
    bytes: int

    @property
    def rows_per_s(self) -> float:
        return per_second(self.rows, self.seconds)


@dataclass(frozen=True)
class PipelineRun:
    lines: int
    workers: int
    ingest: IngestRun
    e2e_seconds: float  # first raw line in -> last ledger entry out (broker timestamps)
    worker_seconds: float  # worker processes' wall time, start-up included
    worker_peak_rss_mb: float  # the largest of the workers
    worker_cpu_seconds: float  # all workers, user + system
    entries: int
    problems: list[str]
    partition_counts: list[int] = field(default_factory=list)  # raw POS messages per partition
    restored: tuple[int, float] | None = None  # changelog records restored at start, seconds

    @property
    def e2e_rate(self) -> float:
        return per_second(self.lines, self.e2e_seconds)

    @property
    def cpu_rate(self) -> float:
        """Lines per worker CPU-second: less sensitive to a contended machine."""
        return per_second(self.lines, self.worker_cpu_seconds)

    @property
    def cpu_us_per_line(self) -> float:
        """Worker CPU (its relay process and start-up included) per POS line, in µs."""
        return self.worker_cpu_seconds / self.lines * 1e6 if self.lines else 0.0

    @property
    def worker_rate(self) -> float:
        return per_second(self.lines, self.worker_seconds)


def ingest(settings: Settings, kind: str, path: str, timeout: float) -> IngestRun:
    argv = [sys.executable, "-m", "streams.tools.bench.child", "ingest", kind, path]
    run = run_child(argv, worker_env(settings), timeout)
    result = run.json()
    return IngestRun(result["rows_read"], result["seconds"], run.peak_rss_mb, result["bytes_read"])


def first_timestamp_ms(settings: Settings, topic: str) -> int:
    """The earliest broker timestamp of a topic (the first message of each partition)."""
    firsts: dict[int, int] = {}
    for msg in read_topic(settings, topic):
        partition = msg.partition() or 0
        if partition not in firsts:
            firsts[partition] = msg.timestamp()[1]
    return min(firsts.values())


def partition_counts(settings: Settings, topic: str) -> list[int]:
    """Messages per partition of ``topic`` (from its watermarks), by partition number."""
    c = consumer(settings)
    try:
        counts = []
        for tp in partitions(c, topic):
            low, high = c.get_watermark_offsets(tp, timeout=10)
            counts.append(max(0, high - low))
        return counts
    finally:
        c.close()


def skew(counts: list[int]) -> float | None:
    """Max over mean of the per-partition counts (1.0 = even); None with no records."""
    total = sum(counts)
    return max(counts) / (total / len(counts)) if total else None


def bench_worker_env(settings: Settings) -> dict[str, str]:
    """A worker's environment; any free metrics port, so that workers (and other users of
    the machine) never fight over one. Ignored by versions without a metrics server."""
    return {**worker_env(settings), "RECON_METRICS_PORT": "0"}


def run_workers(settings: Settings, workers: int, timeout: float) -> list[ChildRun]:
    children = []
    for i in range(workers):
        env = bench_worker_env(settings.with_overrides(home=settings.home / f"worker{i}"))
        children.append(Child(worker_command("--drain"), env))
    return [child.wait(timeout) for child in children]


def idle_worker(settings: Settings, timeout: float) -> ChildRun:
    """`recon worker --drain` over empty topics: what start-up, the drain's idle check and
    shutdown cost a worker (and its relay process) with no record to process."""
    create_topics(settings)
    run = run_workers(settings, 1, timeout)[0]
    if run.returncode:
        raise BenchError(f"idle worker exited {run.returncode}: {run.errors}")
    return run


def run_pipeline(
    settings: Settings,
    workload: Workload,
    expected: dict[TotalKey, Decimal],
    *,
    workers: int = 1,
    timeout: float = 900.0,
) -> PipelineRun:
    create_topics(settings)
    pos = ingest(settings, "pos", str(workload.pos), timeout)
    ingest(settings, "promotions", str(workload.promotions), timeout)  # agreements arrive late
    runs = run_workers(settings, workers, timeout)
    problems = [f"worker exited {r.returncode}: {r.errors}" for r in runs if r.returncode]
    messages = list(read_topic(settings, settings.topic(t.LEDGER)))
    last_ms = max((m.timestamp()[1] for m in messages), default=0)
    first_ms = first_timestamp_ms(settings, settings.topic(t.RAW_POS))
    ledger = distinct_entries(avro.decode("ledger_entry", m.value() or b"") for m in messages)
    problems += differences(ledger, expected)
    return PipelineRun(
        lines=workload.lines,
        workers=workers,
        ingest=pos,
        e2e_seconds=max(last_ms - first_ms, 0) / 1000,
        worker_seconds=max(r.seconds for r in runs),
        worker_peak_rss_mb=max(r.peak_rss_mb for r in runs),
        worker_cpu_seconds=sum(r.cpu_seconds for r in runs),
        entries=len(ledger.entries),
        problems=problems,
        partition_counts=partition_counts(settings, settings.topic(t.RAW_POS)),
        restored=restored(runs[0].log) if runs else None,
    )


RESTORED = re.compile(r"restored (\d+) changelog records into \d+ table partitions in ([\d.]+) s")


def restored(log: str) -> tuple[int, float] | None:
    """What a worker's bulk restore at start took (its log line), if it restored anything."""
    found = RESTORED.search(log)
    return (int(found[1]), float(found[2])) if found else None
