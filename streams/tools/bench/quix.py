"""Running baseline (b), the quixstreams application, and checking its totals."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from streams.domain.accrual.reference import TotalKey
from streams.kafka import topics as t
from streams.kafka.clients import admin_client
from streams.kafka.read import read_topic
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.tools.bench.ours import IngestRun, first_timestamp_ms, ingest
from streams.tools.bench.procs import per_second, run_child
from streams.tools.bench.setup import Workload
from streams.tools.references import compare_totals

REPO = Path(__file__).resolve().parents[2]
QUIX_PYTHON = REPO / ".venv-quix" / "bin" / "python"
OUT = "quix.ledger"


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

    @property
    def e2e_rate(self) -> float:
        return per_second(self.lines, self.e2e_seconds)

    @property
    def cpu_rate(self) -> float:
        return per_second(self.lines, self.cpu_seconds)


def quix_available(python: Path = QUIX_PYTHON) -> bool:
    return python.exists()


def totals_of(postings: list[dict[str, str]]) -> tuple[dict[TotalKey, Decimal], int]:
    """Sum each distinct entry id once, per (agreement, period, currency)."""
    distinct = {p["entry_id"]: p for p in postings}
    totals: dict[TotalKey, Decimal] = {}
    for p in distinct.values():
        key = (p["agreement_id"], p["period"], p["currency"])
        totals[key] = totals.get(key, Decimal(0)) + Decimal(p["amount"])
    return totals, len(distinct)


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
    out_topic = settings.topic(OUT)
    # quixstreams stamps outputs with the input's timestamp: let the broker stamp them.
    spec = NewTopic(out_topic, settings.partitions, settings.replication_factor,
                    config={"message.timestamp.type": "LogAppendTime"})
    admin = admin_client(settings)  # kept alive until the futures resolve
    for future in admin.create_topics([spec]).values():
        future.result()
    argv = [
        str(python), "-m", "streams.tools.bench.quix_app", settings.bootstrap, settings.app_id,
        settings.topic(t.RAW_POS), settings.topic(t.RAW_PROMOTIONS), out_topic,
        str(settings.home / "quix-state"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("VIRTUAL_ENV", None)
    run = run_child(argv, env, timeout)
    messages = list(read_topic(settings, out_topic))
    last_ms = max((m.timestamp()[1] for m in messages), default=0)
    first_ms = first_timestamp_ms(settings, settings.topic(t.RAW_POS))
    totals, entries = totals_of([json.loads(m.value() or b"{}") for m in messages])
    return QuixRun(
        lines=workload.lines,
        ingest=pos,
        e2e_seconds=max(last_ms - first_ms, 0) / 1000,
        seconds=run.seconds,
        peak_rss_mb=run.peak_rss_mb,
        cpu_seconds=run.cpu_seconds,
        entries=entries,
        problems=compare_totals({k: v for k, v in totals.items() if v}, expected, "quix"),
    )
