"""Observability end to end: a real worker processes the sample data while a real
Prometheus scrapes it; the series move by what the topics say happened. The same run
checks the health endpoints, the JSON logs and `recon trace`.

Expected values come from the topics themselves (audit, DLQ, ledger), so the metrics are
checked against an independent record of what was processed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from streams.cli.main import app as recon_cli
from streams.formats.csv_source import CsvRecords
from streams.ingest.producer import ingest_file
from streams.kafka.read import read_topic
from streams.kafka.topics import create_topics, relay_group
from streams.observability.tracing import parse
from streams.ops.audit import audit
from streams.ops.dlq import dlq_records
from streams.ops.ledger import Ledger, read_ledger
from streams.settings import Settings
from streams.tools.batch import worker_command, worker_env
from tests.integration.prometheus_server import Prometheus, free_port, http_get

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POS, PROMOTIONS = EXAMPLES / "pos.csv", EXAMPLES / "promotions.csv"


@dataclass
class Run:
    settings: Settings
    prometheus: Prometheus
    worker: subprocess.Popen[bytes]
    log_path: Path
    before: float | None  # records the worker had processed before the ingest

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.settings.metrics_port}"


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the worker exited before it became ready"
        try:
            if http_get(f"{url}/readyz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    raise AssertionError(f"worker not ready after {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def run(kafka_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("observability")
    tag = uuid.uuid4().hex[:10]
    settings = kafka_settings.with_overrides(
        topic_prefix=f"t{tag}",
        app_id=f"recon-test-{tag}",
        home=tmp / "home",
        bootstrap_servers=kafka_settings.bootstrap,
        metrics_host="127.0.0.1",
        metrics_port=free_port(),
        metrics_interval_seconds=1.0,
        log_format="json",
    )
    create_topics(settings)
    log_path = tmp / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [*worker_command(), "--loglevel", "info"],
            env=worker_env(settings),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    prometheus = Prometheus(tmp / "prometheus", [f"127.0.0.1:{settings.metrics_port}"])
    try:
        wait_ready(f"http://127.0.0.1:{settings.metrics_port}", worker)
        prometheus.wait_for('up{job="recon-worker"}', 1.0, timeout=60)
        prometheus.wait_for("recon_worker_ready", 1.0, timeout=60)
        before = prometheus.scalar('sum(recon_records_in_total{stage="process"})')
        # through the CLI: its summary prints the run's metrics (no Pushgateway configured)
        out = recon(settings, "ingest", "pos", str(POS))
        published = records_in(POS)
        assert f"metrics: recon_records_out_total{{stage='ingest'}} {published}, " in out
        ingest_file(settings, PROMOTIONS, "promotions")
        yield Run(settings, prometheus, worker, log_path, before)
    finally:
        stop(worker)
        prometheus.stop()


def records_in(path: Path) -> int:
    with CsvRecords(path) as records:
        return sum(1 for _ in records)


def decided_total(run: Run) -> int:
    """Records the audit says were read, after waiting for Prometheus to see them decided."""
    files = audit(run.settings)
    total = sum(f.read for f in files)
    assert total == records_in(POS) + records_in(PROMOTIONS)  # every record was read
    run.prometheus.wait_for("sum(recon_outcomes_total)", float(total))
    return total


def settled_ledger(run: Run, timeout: float = 240.0) -> Ledger:
    """The ledger once the relay has caught up and Prometheus has seen every entry (the
    relay publishes after the agents decide, so the outcomes alone do not tell)."""
    relay_lag = f'sum(recon_consumer_lag_records{{group="{relay_group(run.settings)}"}})'
    deadline = time.monotonic() + timeout
    while True:
        ledger = read_ledger(run.settings)
        seen = run.prometheus.scalar("sum(recon_ledger_entries_total)")
        lag = run.prometheus.scalar(relay_lag)
        if lag == 0 and seen == len(ledger.entries):
            return ledger
        assert time.monotonic() < deadline, f"ledger {len(ledger.entries)}, seen {seen}, lag {lag}"
        time.sleep(1)


def test_prometheus_scrapes_the_worker_and_series_move_as_records_flow(run: Run) -> None:
    p = run.prometheus
    assert run.before in (None, 0.0)  # nothing processed before the ingest
    total = decided_total(run)
    files = audit(run.settings)
    assert all(f.decided == f.read for f in files)

    assert p.scalar('sum(recon_records_in_total{stage="process"})') == total
    outcomes = p.by("sum by (outcome) (recon_outcomes_total)", "outcome")
    assert outcomes == {
        "applied": sum(f.applied for f in files),
        "duplicate": sum(f.duplicate for f in files),
        "dead_lettered": sum(f.dead_lettered for f in files),
    }
    assert p.scalar("sum(recon_duplicates_skipped_total)") == outcomes["duplicate"]
    dlq = Counter(r["category"] for r in dlq_records(run.settings))
    assert p.by("sum by (category) (recon_dlq_records_total)", "category") == dlq
    # one outcome per record, plus one DLQ record per dead-lettered one, all published
    outcome_topic = run.settings.topic("outcomes")
    assert p.scalar(f'sum(recon_records_out_total{{topic="{outcome_topic}"}})') == total
    # a latency per outcome message: a record's, or a chunk's (its lines were read together)
    outcome_messages = sum(1 for _ in read_topic(run.settings, outcome_topic))
    assert p.scalar('sum(recon_end_to_end_latency_seconds_count{stage="outcome"})') == (
        outcome_messages
    )
    assert p.scalar('sum(recon_end_to_end_latency_seconds_count{stage="dlq"})') == sum(
        dlq.values()
    )
    # Percentiles over everything observed so far (a rate() could cover one scrape only on
    # a fast run: the series may appear already at its final value).
    p50, p95, p99 = (
        p.scalar(
            f"histogram_quantile({q}, sum by (le) "
            '(recon_end_to_end_latency_seconds_bucket{stage="outcome"}))'
        )
        for q in (0.5, 0.95, 0.99)
    )
    assert p50 is not None and p95 is not None and p99 is not None
    assert 0 < p50 <= p95 <= p99

    # The ledger: entries and net amount per currency as the ledger topic holds them.
    ledger = settled_ledger(run)
    net: dict[str, Decimal] = {}
    for e in ledger.entries.values():
        net[e["currency"]] = net.get(e["currency"], Decimal(0)) + e["amount"]
    posted = p.by("recon_ledger_posted_amount", "currency")
    assert posted.keys() == net.keys()
    for currency, amount in net.items():
        assert abs(Decimal(str(posted[currency])) - amount) < Decimal("0.001"), currency
    ledger_latency = p.scalar('sum(recon_end_to_end_latency_seconds_count{stage="ledger"})')
    assert ledger_latency == len(ledger.entries)

    # Lag per partition, caught up once everything is processed; state tables not empty.
    group = f'group="{run.settings.app_id}"'
    p.wait_for(f"sum(recon_consumer_lag_records{{{group}}})", 0.0, timeout=120)
    raw = f'topic=~"{run.settings.topic_prefix}[.]raw[.](pos|promotions)"'
    partitions = p.query(f"recon_consumer_lag_records{{{group}, {raw}}}")
    assert len(partitions) == 2 * run.settings.partitions  # every partition of both
    assert (p.scalar("sum(recon_table_keys)") or 0) > 0
    assert (p.scalar("sum(recon_rebalance_duration_seconds_count)") or 0) >= 1
    assert (p.scalar("sum(recon_recovery_duration_seconds_count)") or 0) >= 1
    assert p.scalar("sum(recon_producer_errors_total)") in (None, 0.0)
    raw = sum(1 for t in ("raw.pos", "raw.promotions") for _ in read_topic(
        run.settings, run.settings.topic(t)))  # fmt: skip
    assert (p.scalar("sum(recon_record_processing_seconds_count)") or 0) == raw  # per message


def test_health_endpoints(run: Run) -> None:
    assert http_get(f"{run.base}/healthz") == (200, b"alive\n")
    assert http_get(f"{run.base}/readyz") == (200, b"ready\n")
    assert http_get(f"{run.base}/nothing-here")[0] == 404
    status, body = http_get(f"{run.base}/metrics")
    assert status == 200 and b"# TYPE recon_records_in_total counter" in body


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines, "the worker logged nothing"
    docs = []
    for line in lines:
        doc = json.loads(line)  # every line is one JSON object
        assert isinstance(doc, dict) and {"ts", "level", "logger", "event"} <= doc.keys()
        docs.append(doc)
    return docs


def test_logs_are_json_lines_with_the_records_context(run: Run) -> None:
    decided_total(run)
    dead = {r["correlation_id"]: r for r in dlq_records(run.settings)}
    logged = {
        d["correlation_id"]: d for d in json_lines(run.log_path) if "correlation_id" in d
    }
    assert dead.keys() <= logged.keys()
    for cid, rec in dead.items():
        line = logged[cid]
        assert line["level"] == "warning" and line["outcome"] == "dead_lettered"
        assert line["category"] == rec["category"]
        assert (line["topic"], line["partition"], line["offset"]) == (
            rec["source_topic"],
            rec["source_partition"],
            rec["source_offset"],
        )
        assert (line["source_file"], line["line"]) == (rec["source_file"], rec["source_line"])
        assert line["agent"] in {"recon.pos", "recon.promotions"}
        assert parse(line["traceparent"]) is not None
        # no payloads at INFO and above: the record's bytes stay in the DLQ
        assert bytes(rec["original"]).decode(errors="replace") not in json.dumps(line)


def cli(run: Run, *args: str) -> str:
    return recon(run.settings, *args)


def recon(s: Settings, *args: str) -> str:
    result = CliRunner().invoke(
        recon_cli,
        ["--bootstrap-servers", s.bootstrap, "--topic-prefix", s.topic_prefix,
         "--app-id", s.app_id, "--home", str(s.home), *args],
        terminal_width=250,
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_trace_follows_a_record_from_raw_to_ledger_and_to_the_dlq(run: Run) -> None:
    decided_total(run)
    ledger = settled_ledger(run)
    # Agreements arrive after the sales here, so entries are triggered by either feed.
    sale = next(iter(ledger.entries.values()))
    lines = cli(run, "trace", sale["correlation_id"]).splitlines()
    stages = [line.split()[0] for line in lines]
    assert stages[0] == "raw" and "outcome" in stages and "ledger" in stages
    assert f"entry={sale['entry_id']}" in "\n".join(lines)
    parents = [parse(line.rsplit("traceparent=", 1)[1]) for line in lines]
    assert all(p is not None for p in parents)
    assert len({p.trace_id for p in parents if p}) == 1  # one trace, raw to ledger
    raw_span, outcome_span = parents[0], parents[stages.index("outcome")]
    ledger_span = parents[stages.index("ledger")]
    assert raw_span and outcome_span and ledger_span
    assert len({raw_span.span_id, outcome_span.span_id, ledger_span.span_id}) == 3

    bad = next(iter(dlq_records(run.settings)))
    out = cli(run, "trace", bad["correlation_id"])
    first = out.splitlines()[0]
    assert first.startswith("raw") and f"@{bad['source_offset']}" in first
    assert f"category={bad['category']}" in out and "outcome=dead_lettered" in out
