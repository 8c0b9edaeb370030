"""`recon bench --quick` end to end on the session's broker: it runs, prints every section
and its totals check passes. Figures are never asserted (timed tests are not benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.settings import Settings

pytestmark = pytest.mark.integration


def test_recon_bench_quick(kafka_settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap}
    argv = [sys.executable, "-m", "streams", "bench", "--quick", "--lines", "2000",
            "--e2e-lines", "500", "--record-lines", "300", "--state-keys", "3000",
            "--delivery-entries", "0",  # its stage: tests/integration/delivery
            "--work", str(tmp_path / "bench")]  # fmt: skip
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for needle in (
        "ingest rate",
        "producer peak RSS",
        "baseline (a) raw pass-through (the I/O floor, not a target)",
        "baseline (c) bare computation (one process, no Kafka), chunks of 500",
        "baseline (c) bare computation (one process, no Kafka), one line per message",
        "CPU per POS line",
        "OK   bare computation, chunks of 500",
        "OK   bare computation, one line per message",
        "OK   ours, 1 worker, one line per message",
        "worker overhead factor, one line per message",
        "end to end (first line in -> last ledger entry out)",
        "worker CPU per POS line",
        "partition skew of the raw POS topic",
        "worker peak RSS",
        "worker overhead factor: worker CPU per line / bare CPU per line",
        "I/O floor, not a target: ours / raw pass-through",
        "per CPU-second: ours / quixstreams, both reading per-record messages",
        "OK   ours, 1 worker(s)",
        "OK   ours, 1 worker, 3,000 keys in its state",
        "[3,000 idempotency keys in its state]",
        "target end-to-end throughput per worker",
        "target worker CPU per POS line (<= 20.00 us)",
        "target worker overhead over the bare computation (<= 1.30 x)",
        "ledger entries per 1,000 POS lines",
        "target ledger entries per 1,000 POS lines (<= 10",
        "-- claims: a 1,000-line claim against 2,000 sales",
        "ours, the worker (claim ingest -> final result on recon.claims.results)",
        "bare computation of the same checks, in process",
        "worker CPU per line / bare CPU per line",
        "OK   claims: the worker's result equals the bare computation: status disputed, "
        "1,000 lines received",
        "== result: totals correct ==",
    ):
        assert needle in out, f"{needle!r} missing from:\n{out}"
