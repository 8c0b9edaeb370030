"""`recon bench`: every stage of the benchmark in one run, then the report.

Stages: generate the workloads; ingest N lines (ingest rate, producer peak RSS) and pass
them through confluent-kafka (baseline a); run our pipeline end to end on ``e2e_lines``
with 1 worker and with 2 workers (scaling, 6 partitions); the quixstreams implementation of
the same workload (baseline b); latency at half the measured maximum; totals checks.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from streams.domain.accrual.reference import TotalKey
from streams.kafka import topics as t
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.tools.bench import report as r
from streams.tools.bench.latency import LatencyRun, run_latency
from streams.tools.bench.ours import PipelineRun, ingest, run_pipeline
from streams.tools.bench.passthrough import pass_through
from streams.tools.bench.quix import QuixRun, quix_available, run_quix
from streams.tools.bench.setup import Workload, bench_kafka, make_workload, stage_settings
from streams.tools.bench.state_keys import preload_marks

TARGET_RATE = 50_000.0  # end-to-end POS lines/s per worker process
TARGET_SHARE_OF_RAW = 0.25
TARGET_VS_QUIX = 3.0
TARGET_P99_S = 1.0
TARGET_PRODUCER_RSS_MB = 300.0
TARGET_WORKER_RSS_MB = 600.0
TARGET_CSV_BYTES = 2e9


@dataclass(frozen=True)
class BenchOptions:
    lines: int = 1_000_000  # ingest and pass-through
    e2e_lines: int = 20_000  # the worker stages (see README: the worker is far from N/10 min)
    workers: tuple[int, ...] = (1, 2)
    quix: bool = True
    latency_seconds: float = 20.0
    state_keys: int = 0  # > 0: a 1-worker stage with that many dedupe marks in its state
    work: Path = Path(".recon/bench-work")
    stage_timeout: float = 900.0

    @classmethod
    def quick(cls, work: Path) -> BenchOptions:
        return cls(lines=5_000, e2e_lines=2_000, workers=(1,), quix=False,
                   latency_seconds=0.0, work=work)


Log = Callable[[str], None]


def run_bench(base: Settings, options: BenchOptions, log: Log) -> r.Report:
    report = r.Report(
        f"recon bench: N={options.lines:,} lines (ingest, pass-through), "
        f"{options.e2e_lines:,} lines end to end"
    )
    work = options.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    t0 = time.perf_counter()
    log("generating workloads")
    big = make_workload(work / "data", "full", options.lines)
    small = make_workload(work / "data", "e2e", options.e2e_lines)
    expected = small.expected()
    report.add("workload", "full feed", f"{big.lines:,} POS lines, {big.bytes / 1e6:.1f} MB")
    report.add("workload", "end-to-end feed", f"{small.lines:,} POS lines, "
               f"{len(expected)} non-zero (agreement, period) totals expected")
    with bench_kafka(base, work / "kafka") as kafka:
        log(f"kafka at {kafka.bootstrap}")
        runs = _ingest_and_baseline(kafka, options, big, report, log)
        pipelines: dict[int, PipelineRun] = {}
        for workers in options.workers:
            log(f"our pipeline end to end, {workers} worker(s), {small.lines:,} lines")
            stage = stage_settings(kafka, work, f"ours{workers}")
            run = run_pipeline(stage, small, expected, workers=workers,
                               timeout=options.stage_timeout)
            pipelines[workers] = run
            _report_pipeline(report, run)
        loaded = _state_keys(kafka, options, small, expected, report, log)
        quix = _quix(kafka, options, small, expected, report, log)
        latency = _latency(kafka, options, small, pipelines.get(1), report, log)
    _verdicts(report, options, runs, pipelines, quix, latency, loaded)
    report.add("run", "benchmark wall time", f"{time.perf_counter() - t0:.0f} s")
    return report


def _ingest_and_baseline(
    kafka: Settings, options: BenchOptions, big: Workload, report: r.Report, log: Log
) -> dict[str, float]:
    stage = stage_settings(kafka, options.work.resolve(), "raw")
    create_topics(stage)
    log(f"ingesting {big.lines:,} lines")
    run = ingest(stage, "pos", str(big.pos), options.stage_timeout)
    report.add("ingest", "ingest rate", r.show_rate(run.rows_per_s))
    report.add("ingest", "producer peak RSS", f"{run.peak_rss_mb:.0f} MB "
               f"({big.bytes / 1e6:.1f} MB CSV)")
    log("raw confluent-kafka pass-through")
    raw = pass_through(stage, stage.topic(t.RAW_POS), run.rows, options.stage_timeout)
    section = "baseline (a) raw pass-through"
    report.add(section, "throughput", r.show_rate(raw.rate))
    report.add(section, "per CPU-second", r.show_rate(raw.cpu_rate))
    return {"ingest_rate": run.rows_per_s, "ingest_rss": run.peak_rss_mb, "raw": raw.rate,
            "raw_cpu": raw.cpu_rate, "ingest_bytes": float(run.bytes)}



def _state_keys(
    kafka: Settings,
    options: BenchOptions,
    small: Workload,
    expected: dict[TotalKey, Decimal],
    report: r.Report,
    log: Log,
) -> PipelineRun | None:
    """The memory target: one worker whose table holds ``state_keys`` idempotency keys."""
    if options.state_keys <= 0:
        return None
    # The drain's clock starts with the worker, and restoring the keys comes first.
    stage = stage_settings(kafka, options.work.resolve(), "keys").with_overrides(
        drain_timeout_seconds=options.stage_timeout
    )
    create_topics(stage)
    log(f"preloading {options.state_keys:,} dedupe marks into the state changelog")
    preload_marks(stage, options.state_keys)
    log(f"our pipeline, 1 worker, {options.state_keys:,} keys restored, {small.lines:,} lines")
    run = run_pipeline(stage, small, expected, workers=1, timeout=options.stage_timeout)
    _report_pipeline(report, run, f"ours, 1 worker, {options.state_keys:,} keys in its state")
    return run


def _report_pipeline(report: r.Report, run: PipelineRun, section: str = "") -> None:
    section = section or f"ours, {run.workers} worker(s)"
    report.add(section, "end to end (first line in -> last ledger entry out)",
               f"{r.show_rate(run.e2e_rate)} ({run.e2e_seconds:.1f} s)")
    report.add(section, "worker processes' wall time", f"{run.worker_seconds:.1f} s "
               f"({r.show_rate(run.worker_rate)}, start-up included), "
               f"CPU {run.worker_cpu_seconds:.1f} s")
    report.add(section, "per worker CPU-second", r.show_rate(run.cpu_rate))
    report.add(section, "worker peak RSS",
               f"{run.worker_peak_rss_mb:.0f} MB (its relay process included)")
    report.add(section, "ingest of the feed", f"{r.show_rate(run.ingest.rows_per_s)}, "
               f"producer peak RSS {run.ingest.peak_rss_mb:.0f} MB")
    report.check(section, not run.problems, _totals_detail(run.entries, run.problems))


def _totals_detail(entries: int, problems: list[str]) -> str:
    """The totals-check line of a run: its entries, and its first mismatch if any."""
    detail = f"{entries} distinct ledger entries"
    if problems:
        return f"{detail}; {len(problems)} mismatches, first: {problems[0]}"
    return f"{detail}; every (agreement, period) total equals the reference to the cent"


def _quix(
    kafka: Settings,
    options: BenchOptions,
    small: Workload,
    expected: dict[TotalKey, Decimal],
    report: r.Report,
    log: Log,
) -> QuixRun | None:
    section = "baseline (b) quixstreams, same workload"
    if not options.quix:
        report.add(section, "not run", "(--no-quix or --quick)")
        return None
    if not quix_available():
        report.add(section, "not run", "its virtualenv is missing: `make venv-quix`")
        return None
    log(f"quixstreams baseline, {small.lines:,} lines")
    stage = stage_settings(kafka, options.work.resolve(), "quix")
    run = run_quix(stage, small, expected, timeout=options.stage_timeout)
    report.add(section, "end to end (first line in -> last ledger entry out)",
               f"{r.show_rate(run.e2e_rate)} ({run.e2e_seconds:.1f} s)")
    report.add(section, "app process wall time", f"{run.seconds:.1f} s (idle stop included)")
    report.add(section, "app peak RSS", f"{run.peak_rss_mb:.0f} MB")
    report.add(section, "per CPU-second",
               f"{r.show_rate(run.cpu_rate)} (CPU {run.cpu_seconds:.1f} s, start-up included)")
    report.check("quixstreams baseline", not run.problems,
                 _totals_detail(run.entries, run.problems))
    return run


def _latency(
    kafka: Settings,
    options: BenchOptions,
    small: Workload,
    one: PipelineRun | None,
    report: r.Report,
    log: Log,
) -> LatencyRun | None:
    section = "latency at half the measured maximum"
    if options.latency_seconds <= 0 or one is None or one.e2e_rate <= 0:
        report.add(section, "not run", "(--latency-seconds 0, --quick, or no 1-worker run)")
        return None
    rate = one.e2e_rate / 2
    log(f"latency: {rate:,.0f} lines/s offered for {options.latency_seconds:.0f} s")
    stage = stage_settings(kafka, options.work.resolve(), "latency")
    run = run_latency(stage, small.pos, small.promotions, rate, options.latency_seconds,
                      options.stage_timeout)
    p50, p95, p99 = (r.percentile(run.latencies, q) for q in (50, 95, 99))
    report.add(section, "offered load", f"{r.show_rate(run.offered_rate)} "
               f"({run.lines:,} lines; {len(run.latencies):,} posted a ledger entry)")
    report.add(section, "p50 / p95 / p99", " / ".join(
        "n/a" if v is None else f"{v * 1000:,.0f} ms" for v in (p50, p95, p99)))
    return run


def _verdicts(
    report: r.Report,
    options: BenchOptions,
    runs: dict[str, float],
    pipelines: dict[int, PipelineRun],
    quix: QuixRun | None,
    latency: LatencyRun | None,
    loaded: PipelineRun | None,
) -> None:
    one = pipelines.get(1)
    ours = one.e2e_rate if one else None
    measured = loaded if options.state_keys > 0 else one
    # A key stage that failed (e.g. timed out restoring) measured nothing about the target.
    worker_rss = measured.worker_peak_rss_mb if measured and not measured.problems else None
    keys_note = _rss_note(options, loaded)
    raw = runs.get("raw")
    theirs = quix.e2e_rate if quix else None
    report.add("ratios", "ours / raw pass-through", r.show_ratio(r.ratio(ours, raw)))
    report.add("ratios", "ours / quixstreams", r.show_ratio(r.ratio(ours, theirs)))
    ours_cpu = one.cpu_rate if one else None
    report.add("ratios", "per CPU-second: ours / raw pass-through",
               r.show_ratio(r.ratio(ours_cpu, runs.get("raw_cpu"))))
    report.add("ratios", "per CPU-second: ours / quixstreams",
               r.show_ratio(r.ratio(ours_cpu, quix.cpu_rate if quix else None)))
    two = pipelines.get(2)
    if one and two:
        report.add("ratios", "scaling: 2 workers / 1 worker (6 partitions)",
                   r.show_ratio(r.ratio(two.e2e_rate, one.e2e_rate)))
        report.add("ratios", "scaling per CPU-second: 2 workers / 1 worker",
                   r.show_ratio(r.ratio(two.cpu_rate, one.cpu_rate)))
    report.targets += [
        r.Target("end-to-end throughput per worker", ours, TARGET_RATE, "lines/s"),
        r.Target("share of raw pass-through", r.ratio(ours, raw), TARGET_SHARE_OF_RAW, "x"),
        r.Target("throughput vs quixstreams", r.ratio(ours, theirs), TARGET_VS_QUIX, "x"),
        r.Target("p99 end-to-end latency at half max load",
                 r.percentile(latency.latencies, 99) if latency else None, TARGET_P99_S, "s",
                 higher_is_better=False),
        r.Target("producer peak RSS", runs.get("ingest_rss"), TARGET_PRODUCER_RSS_MB, "MB",
                 higher_is_better=False, note=_csv_note(options, runs.get("ingest_bytes", 0))),
        r.Target("worker peak RSS", worker_rss, TARGET_WORKER_RSS_MB, "MB",
                 higher_is_better=False, note=keys_note),
    ]


def _csv_note(options: BenchOptions, size: float) -> str:
    note = f"{options.lines:,}-line CSV of {size / 1e9:.2f} GB"
    return note if size >= TARGET_CSV_BYTES else f"{note}, not 2 GB (--lines 31000000)"


def _rss_note(options: BenchOptions, loaded: PipelineRun | None) -> str:
    if options.state_keys > 0:
        failed = loaded is None or bool(loaded.problems)
        return f"{options.state_keys:,} idempotency keys in its state" + (
            ": that stage failed" if failed else ""
        )
    return f"{options.e2e_lines:,} lines, not 10M keys (--state-keys 10000000)"
