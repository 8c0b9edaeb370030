"""`recon bench`: every stage of the benchmark in one run, then the report.

Stages: generate the workloads; the bare computation over the end-to-end feed, no Kafka
(baseline c: the floor the worker's CPU per line is compared with), in chunks as ingest
publishes them and one line per message; ingest N lines (ingest rate, producer peak RSS)
and pass them through confluent-kafka (baseline a, the I/O floor); our pipeline end to end
on ``e2e_lines`` with 1 worker and with 2 workers (scaling, 6 partitions); our pipeline
and the quixstreams implementation (baseline b) on ``record_lines`` published one line per
message (quixstreams' input); latency at half the measured maximum; totals checks.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from streams.broker.postgres import ensure_postgres
from streams.domain.accrual.reference import TotalKey
from streams.kafka import topics as t
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.tools.bench import claims_worker, delivery
from streams.tools.bench import report as r
from streams.tools.bench.bare import BareRun, run_bare_child
from streams.tools.bench.latency import LatencyRun, run_latency
from streams.tools.bench.ours import (
    PipelineRun,
    idle_worker,
    ingest,
    partition_counts,
    run_pipeline,
    skew,
)
from streams.tools.bench.passthrough import pass_through
from streams.tools.bench.quix import QuixRun, quix_available, run_quix
from streams.tools.bench.setup import Workload, bench_kafka, make_workload, stage_settings
from streams.tools.bench.state_keys import preload_marks

TARGET_CSV_BYTES = 2e9  # the producer-memory target is for a 2 GB CSV


@dataclass(frozen=True)
class BenchOptions:
    lines: int = 1_000_000  # ingest and pass-through
    e2e_lines: int = 1_000_000  # the worker stages on chunked input
    record_lines: int = 50_000  # the stages on one line per message (ours and quixstreams)
    workers: tuple[int, ...] = (1, 2)
    quix: bool = True
    latency_seconds: float = 20.0
    state_keys: int = 0  # > 0: a 1-worker stage with that many dedupe marks in its state
    delivery_entries: int = 1_000_000  # ledger entries delivered to PostgreSQL (0 = skip)
    claim_lines: int = 500_000  # the claims stage: a claim of this many lines (0 = skip)
    claim_sales: int = 1_000_000  # ... against this many sales of its vendor (0 = skip)
    idle_worker: bool = True  # measure a worker's start-up and shutdown CPU (no records)
    work: Path = Path(".recon/bench-work")
    stage_timeout: float = 900.0

    @classmethod
    def quick(cls, work: Path) -> BenchOptions:
        return cls(
            lines=5_000,
            e2e_lines=2_000,
            record_lines=1_000,
            workers=(1,),
            quix=False,
            latency_seconds=0.0,
            delivery_entries=2_000,
            claim_lines=1_000,
            claim_sales=2_000,
            idle_worker=False,
            work=work,
        )


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
    small = (
        big
        if options.e2e_lines == options.lines
        else make_workload(work / "data", "e2e", options.e2e_lines)
    )
    singles = make_workload(work / "data", "records", options.record_lines)
    expected, expected_singles = small.expected(), singles.expected()
    report.add("workload", "full feed", f"{big.lines:,} POS lines, {big.bytes / 1e6:.1f} MB")
    report.add(
        "workload",
        "end-to-end feed",
        f"{small.lines:,} POS lines, {len(expected)} non-zero (agreement, period) totals expected",
    )
    report.add("workload", "one-line-per-message feed", f"{singles.lines:,} POS lines")
    chunk = Settings().ingest_chunk_records
    bare = _bare(options, small, expected, report, log, chunk)
    bare_singles = _bare(options, singles, expected_singles, report, log, 1)
    with bench_kafka(base, work / "kafka") as kafka:
        log(f"kafka at {kafka.bootstrap}")
        runs = _ingest_and_baseline(kafka, options, big, report, log)
        pipelines: dict[int, PipelineRun] = {}
        for workers in options.workers:
            log(f"our pipeline end to end, {workers} worker(s), {small.lines:,} lines")
            stage = stage_settings(kafka, work, f"ours{workers}")
            run = run_pipeline(
                stage, small, expected, workers=workers, timeout=options.stage_timeout
            )
            pipelines[workers] = run
            _report_pipeline(report, run)
        log(f"our pipeline end to end, 1 worker, {singles.lines:,} lines, one per message")
        stage = stage_settings(kafka, work, "records").with_overrides(ingest_chunk_records=1)
        singles_run = run_pipeline(stage, singles, expected_singles, timeout=options.stage_timeout)
        _report_pipeline(report, singles_run, "ours, 1 worker, one line per message")
        idle = _idle(kafka, options, pipelines.get(1), report, log)
        loaded = _state_keys(kafka, options, small, expected, report, log)
        quix = _quix(kafka, options, singles, expected_singles, report, log)
        latency = _latency(kafka, options, small, pipelines.get(1), report, log)
        if options.delivery_entries > 0:
            log(f"delivery of {options.delivery_entries:,} ledger entries, and a plain COPY")
            # The user's PostgreSQL (RECON_POSTGRES_DSN or the local one), a schema of its own.
            stage = stage_settings(kafka, work, "delivery").with_overrides(
                postgres_dsn=ensure_postgres(base)
            )
            delivery.add_stage(report, delivery.run(stage, options.delivery_entries))
        if options.claim_lines > 0 and options.claim_sales > 0:
            log(f"claims: {options.claim_lines:,} lines against {options.claim_sales:,} sales")
            stage = stage_settings(kafka, work, "claims")
            claimed = claims_worker.run(
                stage, options.claim_lines, options.claim_sales, options.stage_timeout
            )
            claims_worker.add_stage(report, claimed)
    singles_runs = (singles_run, bare_singles)
    _verdicts(report, options, runs, pipelines, quix, latency, loaded, bare, idle, singles_runs)
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
    report.add(
        "ingest", "producer peak RSS", f"{run.peak_rss_mb:.0f} MB ({big.bytes / 1e6:.1f} MB CSV)"
    )
    log("raw confluent-kafka pass-through")
    messages = sum(partition_counts(stage, stage.topic(t.RAW_POS)))
    raw = pass_through(stage, stage.topic(t.RAW_POS), messages, options.stage_timeout)
    section = "baseline (a) raw pass-through (the I/O floor, not a target)"
    per_message = run.rows / messages if messages else 0.0
    each = f"{r.show_rate(raw.rate, 'messages/s')}, {per_message:.0f} lines each"
    report.add(section, "throughput", f"{r.show_rate(raw.rate * per_message)} ({each})")
    report.add(section, "per CPU-second", r.show_rate(raw.cpu_rate * per_message))
    return {
        "ingest_rate": run.rows_per_s,
        "ingest_rss": run.peak_rss_mb,
        "raw": raw.rate * per_message,
        "raw_cpu": raw.cpu_rate * per_message,
        "ingest_bytes": float(run.bytes),
    }


def _bare(
    options: BenchOptions,
    small: Workload,
    expected: dict[TotalKey, Decimal],
    report: r.Report,
    log: Log,
    chunk_records: int,
) -> BareRun:
    """Baseline (c): the same code path over the same lines, in one process, no Kafka."""
    how = f"chunks of {chunk_records}" if chunk_records > 1 else "one line per message"
    log(f"bare computation, no Kafka, {small.lines:,} lines, {how}")
    run = run_bare_child(small, expected, options.stage_timeout, chunk_records=chunk_records)
    section = f"baseline (c) bare computation (one process, no Kafka), {how}"
    report.add(
        section,
        "CPU per POS line",
        f"{r.show_us(run.cpu_us_per_line)} ({r.show_rate(run.cpu_rate)} per CPU-second;"
        f" CPU {run.cpu_seconds:.2f} s, {run.agreements} agreements applied first)",
    )
    report.add(
        section,
        "repeats (CPU s; the median counts)",
        ", ".join(f"{cpu:.2f}" for cpu in run.cpu_runs),
    )
    out = run.outputs
    report.add(
        section,
        "outputs built",
        f"{out.get('outcome', 0):,} outcome records, "
        f"{out.get('dlq', 0):,} DLQ records, {out.get('ledger', 0):,} ledger entries, "
        f"{out.get('agreement', 0):,} agreement records",
    )
    report.check(f"bare computation, {how}", not run.problems,
                 _totals_detail(run.entries, run.problems))  # fmt: skip
    return run


def _idle(
    kafka: Settings, options: BenchOptions, one: PipelineRun | None, report: r.Report, log: Log
) -> float | None:
    """The CPU of a worker that starts, drains nothing and stops: subtracted from the
    1-worker stage's, it leaves the CPU its lines cost (an information, not a target)."""
    if not options.idle_worker or one is None:
        return None
    log("an idle worker: start-up and shutdown, no records")
    stage = stage_settings(kafka, options.work.resolve(), "idle")
    run = idle_worker(stage, options.stage_timeout)
    section = f"ours, {one.workers} worker(s)"
    report.add(
        section,
        "an idle worker's start-up + drain + shutdown",
        f"CPU {run.cpu_seconds:.1f} s, wall {run.seconds:.1f} s (no records)",
    )
    steady = max(one.worker_cpu_seconds - run.cpu_seconds, 0.0) / one.lines * 1e6
    report.add(section, "worker CPU per POS line, idle worker's CPU subtracted", r.show_us(steady))
    return steady


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
    section = f"ours, 1 worker, {options.state_keys:,} keys in its state"
    _report_pipeline(report, run, section)
    if run.restored is not None:
        records, seconds = run.restored
        speed = r.show_rate(records / seconds if seconds else None, "records/s")
        report.add(section, "restore of its state from the changelog at start",
                   f"{records:,} records in {seconds:.1f} s ({speed})")  # fmt: skip
    return run


def _report_pipeline(report: r.Report, run: PipelineRun, section: str = "") -> None:
    section = section or f"ours, {run.workers} worker(s)"
    report.add(
        section,
        "end to end (first line in -> last ledger entry out)",
        f"{r.show_rate(run.e2e_rate)} ({run.e2e_seconds:.1f} s)",
    )
    report.add(
        section,
        "worker processes' wall time",
        f"{run.worker_seconds:.1f} s "
        f"({r.show_rate(run.worker_rate)}, start-up included), "
        f"CPU {run.worker_cpu_seconds:.1f} s",
    )
    report.add(section, "per worker CPU-second", r.show_rate(run.cpu_rate))
    report.add(
        section,
        "worker CPU per POS line",
        f"{r.show_us(run.cpu_us_per_line)} (relay process and start-up included)",
    )
    spread = skew(run.partition_counts)
    report.add(
        section,
        "partition skew of the raw POS topic",
        ("n/a" if spread is None else f"max/mean {spread:.2f}")
        + f" (messages per partition: {', '.join(map(str, run.partition_counts))})",
    )
    report.add(
        section, "worker peak RSS", f"{run.worker_peak_rss_mb:.0f} MB (its relay process included)"
    )
    report.add(
        section,
        "ingest of the feed",
        f"{r.show_rate(run.ingest.rows_per_s)}, producer peak RSS {run.ingest.peak_rss_mb:.0f} MB",
    )
    per_1000 = entries_per_1000(run)
    if per_1000 is not None:
        report.add(section, "ledger entries per 1,000 POS lines", f"{per_1000:.1f}")
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
    stage = stage_settings(kafka, options.work.resolve(), "quix").with_overrides(
        ingest_chunk_records=1
    )
    run = run_quix(stage, small, expected, timeout=options.stage_timeout)
    report.add(
        section,
        "end to end (first line in -> last ledger entry out)",
        f"{r.show_rate(run.e2e_rate)} ({run.e2e_seconds:.1f} s)",
    )
    report.add(section, "app process wall time", f"{run.seconds:.1f} s (idle stop included)")
    report.add(section, "app peak RSS", f"{run.peak_rss_mb:.0f} MB")
    report.add(
        section,
        "per CPU-second",
        f"{r.show_rate(run.cpu_rate)} (CPU {run.cpu_seconds:.1f} s, start-up included)",
    )
    report.add(section, "CPU per POS line", r.show_us(run.cpu_us_per_line))
    out = run.outputs
    report.add(
        section,
        "outputs (Avro, as ours)",
        f"{out.get('outcome', 0):,} outcome records, "
        f"{out.get('dlq', 0):,} DLQ records, {out.get('ledger', 0):,} ledger entries, "
        f"{out.get('agreement', 0):,} agreement records",
    )
    report.add(section, "input", "the raw POS topic `recon ingest` fills: one line per message")
    report.check(
        "quixstreams baseline", not run.problems, _totals_detail(run.entries, run.problems)
    )
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
    run = run_latency(
        stage, small.pos, small.promotions, rate, options.latency_seconds, options.stage_timeout
    )
    p50, p95, p99 = (r.percentile(run.latencies, q) for q in (50, 95, 99))
    report.add(
        section,
        "offered load",
        f"{r.show_rate(run.offered_rate)} "
        f"({run.lines:,} lines; {len(run.latencies):,} posted a ledger entry)",
    )
    report.add(
        section,
        "p50 / p95 / p99",
        " / ".join("n/a" if v is None else f"{v * 1000:,.0f} ms" for v in (p50, p95, p99)),
    )
    return run


def _verdicts(
    report: r.Report,
    options: BenchOptions,
    runs: dict[str, float],
    pipelines: dict[int, PipelineRun],
    quix: QuixRun | None,
    latency: LatencyRun | None,
    loaded: PipelineRun | None,
    bare: BareRun | None = None,
    steady_us: float | None = None,
    singles: tuple[PipelineRun, BareRun] | None = None,
) -> None:
    one, two = pipelines.get(1), pipelines.get(2)
    ours_singles, bare_singles = singles if singles else (None, None)
    ok_singles = ours_singles if ours_singles and not ours_singles.problems else None
    measured = loaded if options.state_keys > 0 else one
    # A key stage that failed (e.g. timed out restoring) measured nothing about the target.
    worker_rss = measured.worker_peak_rss_mb if measured and not measured.problems else None
    r.add_comparisons(report, r.Figures(
        ours_rate=one.e2e_rate if one else None,
        ours_cpu_rate=one.cpu_rate if one else None,
        ours_us=one.cpu_us_per_line if one else None,
        ours_us_steady=steady_us,
        bare_us=bare.cpu_us_per_line if bare and not bare.problems else None,
        quix_rate=quix.e2e_rate if quix else None,
        quix_cpu_rate=quix.cpu_rate if quix else None,
        quix_us=quix.cpu_us_per_line if quix else None,
        raw_rate=runs.get("raw"),
        raw_cpu_rate=runs.get("raw_cpu"),
        two_rate=two.e2e_rate if two else None,
        two_cpu_rate=two.cpu_rate if two else None,
        records_cpu_rate=ok_singles.cpu_rate if ok_singles else None,
        records_us=ok_singles.cpu_us_per_line if ok_singles else None,
        bare_records_us=(bare_singles.cpu_us_per_line
                         if bare_singles and not bare_singles.problems else None),
    ))  # fmt: skip
    report.targets += [
        r.Target("ledger entries per 1,000 POS lines", entries_per_1000(one),
                 r.TARGET_ENTRIES_PER_1000, "", higher_is_better=False, inclusive=True,
                 note="distinct entries of the 1-worker run"),
        r.Target("p99 end-to-end latency at half max load",
                 r.percentile(latency.latencies, 99) if latency else None, r.TARGET_P99_S, "s",
                 higher_is_better=False),
        r.Target("producer peak RSS", runs.get("ingest_rss"), r.TARGET_PRODUCER_RSS_MB, "MB",
                 higher_is_better=False, note=_csv_note(options, runs.get("ingest_bytes", 0))),
        r.Target("worker peak RSS", worker_rss, r.TARGET_WORKER_RSS_MB, "MB",
                 higher_is_better=False, note=_rss_note(options, loaded)),
        r.Target("restore of 10M keys from the changelog", _restore_seconds(options, loaded),
                 r.TARGET_RESTORE_S, "s", higher_is_better=False,
                 note="the keys stage's bulk restore (--state-keys 10000000)"),
    ]  # fmt: skip


def _restore_seconds(options: BenchOptions, loaded: PipelineRun | None) -> float | None:
    if options.state_keys < 10_000_000 or loaded is None or loaded.restored is None:
        return None
    return loaded.restored[1]


def entries_per_1000(run: PipelineRun | None) -> float | None:
    if run is None or run.problems or not run.lines:
        return None
    return run.entries * 1000 / run.lines


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
