"""The benchmark's own throw-away broker, workload files and per-stage settings."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from streams.broker.server import LocalBroker
from streams.domain.accrual.reference import TotalKey
from streams.settings import Settings
from streams.tools.generate import FeedSpec, write_pos, write_promotions
from streams.tools.references import expected_totals

# Its own ports (below the ephemeral range) and home: never the demo's or the tests' broker.
BENCH_BROKER_PORT = 29292
BENCH_CONTROLLER_PORT = 29293


@contextmanager
def bench_kafka(base: Settings, home: Path) -> Iterator[Settings]:
    """KAFKA_BOOTSTRAP_SERVERS if set; else a fresh local broker, stopped and wiped after."""
    if not base.uses_local_broker:
        yield base.with_overrides(home=home)
        return
    settings = base.with_overrides(
        home=home, broker_port=BENCH_BROKER_PORT, controller_port=BENCH_CONTROLLER_PORT
    )
    broker = LocalBroker(settings)
    broker.stop()  # a broker left by an interrupted run: start again from empty topics
    shutil.rmtree(broker.data_dir, ignore_errors=True)
    broker.start()
    try:
        yield settings.with_overrides(bootstrap_servers=broker.bootstrap)
    finally:
        broker.stop()
        shutil.rmtree(broker.data_dir, ignore_errors=True)


def stage_settings(kafka: Settings, work: Path, stage: str) -> Settings:
    """Fresh topics, consumer group and state dir for one stage of the run. No dedupe
    horizon: the generated feed has fixed dates that it would refuse in a few years."""
    tag = f"{stage}-{uuid.uuid4().hex[:6]}"
    return kafka.with_overrides(
        topic_prefix=f"bench-{tag}",
        app_id=f"bench-{tag}",
        home=work / stage,
        bootstrap_servers=kafka.bootstrap,
        dedupe_horizon_days=0,
    )


@dataclass(frozen=True)
class Workload:
    pos: Path
    promotions: Path
    lines: int
    bytes: int

    def expected(self) -> dict[TotalKey, Decimal]:
        """The plain reference computation over the files (the totals check)."""
        return expected_totals([self.pos], [self.promotions])


def make_workload(work: Path, name: str, lines: int, seed: int = 7) -> Workload:
    """POS lines with duplicates, returns, bad lines and several tiers; agreements (some
    amended) that are ingested after the sales, i.e. arrive late."""
    work.mkdir(parents=True, exist_ok=True)
    spec = FeedSpec(lines=lines, seed=seed)
    pos, promotions = work / f"{name}-pos.csv", work / f"{name}-promotions.csv"
    write_pos(pos, spec)
    write_promotions(promotions, spec)
    return Workload(pos, promotions, lines, pos.stat().st_size)
