"""Wiring observability into a Faust worker: a sensor for rebalances and send errors,
timers for health, readiness, table sizes and consumer lag, and the HTTP endpoints.

Rebalance duration is measured from the start of a rebalance to the assignment returned
to the group; recovery duration from there to the end of table recovery (Faust calls
``on_rebalance_end`` only once recovery has completed and streams resume).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
from faust.sensors import Sensor
from faust.types import AppT, ProducerT, TableT

from streams.kafka import topics as t
from streams.kafka.read import group_lag
from streams.observability.metrics import Metrics
from streams.observability.server import Health, ObservabilityServer
from streams.runtime.pipeline import Pipeline
from streams.settings import Settings

log = logging.getLogger(__name__)

ROCKSDB_KEYS = "rocksdb.estimate-num-keys"


class MetricsSensor(Sensor):
    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    def on_rebalance_start(self, app: AppT) -> dict[str, Any]:
        return {"start": time.monotonic()}

    def on_rebalance_return(self, app: AppT, state: dict[str, Any]) -> None:
        state["returned"] = now = time.monotonic()
        self.metrics.rebalance_duration.observe(now - state["start"])

    def on_rebalance_end(self, app: AppT, state: dict[str, Any]) -> None:
        if "returned" in state:
            self.metrics.recovery_duration.observe(time.monotonic() - state["returned"])

    def on_send_error(self, producer: ProducerT, exc: BaseException, state: Any) -> None:
        self.metrics.producer_errors.labels("worker").inc()


def table_keys(table: TableT[Any, Any]) -> int:
    """Keys in the partitions this worker holds. RocksDB's own estimate: counting exactly
    would walk every key on the event loop."""
    store = table.data
    dbs = getattr(store, "_dbs_for_actives", None)
    if dbs is None:  # in-memory store: len() is cheap
        return len(table)
    total = 0
    for db in dbs():
        value = db.property_int_value(ROCKSDB_KEYS) if hasattr(db, "property_int_value") else None
        total += int(value or 0)
    return total


def record_lag(metrics: Metrics, settings: Settings, pipelines: list[Pipeline]) -> None:
    """Committed offset and lag per partition of the app's and the relay's groups."""
    groups = {
        settings.app_id: [topic for p in pipelines for topic in p.source_topics],
        t.relay_group(settings): sorted({topic for p in pipelines for topic in p.relays}),
    }
    for group, topics in groups.items():
        if not topics:
            continue
        for lag in group_lag(settings, group, topics):
            labels = (group, lag.topic, str(lag.partition))
            metrics.consumer_lag.labels(*labels).set(lag.behind)
            metrics.committed_offset.labels(*labels).set(lag.committed or 0)


def partitions_restored(recovery: Any) -> bool:
    """Readiness: the active partitions assigned in the latest rebalance are restored.
    Faust sets ``completed`` after the first recovery and never clears it, so a worker
    replaying the partitions a rebalance handed it must also not be ``in_recovery``;
    standby partitions still catching up do not count (they process nothing)."""
    return bool(recovery.completed.is_set()) and not recovery.in_recovery


class WorkerObservability:
    """Everything the worker exposes; ``start`` before the worker runs, ``stop`` after."""

    def __init__(
        self, app: faust.App, settings: Settings, pipelines: list[Pipeline], metrics: Metrics
    ) -> None:
        self.metrics = metrics
        self.health = Health(stall_seconds=settings.liveness_stall_seconds)
        self.server = ObservabilityServer(
            metrics, self.health, settings.metrics_host, settings.metrics_port
        )
        app.sensors.add(MetricsSensor(metrics))
        interval = settings.metrics_interval_seconds

        recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager's

        async def heartbeat() -> None:
            self.health.tick()
            ready = partitions_restored(recovery)
            self.health.ready = ready
            metrics.ready.set(1 if ready else 0)

        async def sizes() -> None:
            for name, table in app.tables.items():
                try:
                    metrics.table_keys.labels(name).set(table_keys(table))
                except Exception as exc:  # a metric must never take the worker down
                    log.debug("table size of %s unavailable: %s", name, exc)

        async def lag() -> None:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, record_lag, metrics, settings, pipelines)
            except Exception as exc:
                log.warning("consumer lag unavailable: %s", exc)

        app.timer(1.0, name="recon.health")(heartbeat)
        app.timer(interval, name="recon.table-sizes")(sizes)
        app.timer(interval, name="recon.lag")(lag)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
