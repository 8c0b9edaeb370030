"""Metrics of one-shot commands (ingest, replay): recorded into a fresh ``Metrics``, pushed
to a Pushgateway when ``RECON_PUSHGATEWAY_URL`` is set, and summarised for the command's
output either way (a run too short to be scraped still leaves its numbers somewhere)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import push_to_gateway

from streams.observability.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger(__name__)


class RunMetrics:
    def __init__(self, command: str) -> None:
        self.command = command
        self.metrics = Metrics()
        self.pushed_to: str | None = None

    def published(self, topic: str, records: int) -> None:
        self.metrics.records_out.labels(topic, self.command).inc(records)

    def summary(self) -> str:
        m = self.metrics
        out = sum(
            s.value
            for family in m.records_out.collect()
            for s in family.samples
            if s.name.endswith("_total")
        )
        duration = m.registry.get_sample_value(
            "recon_run_duration_seconds", {"command": self.command}
        )
        where = f", pushed to {self.pushed_to}" if self.pushed_to else ""
        return (
            f"metrics: recon_records_out_total{{stage={self.command!r}}} {out:.0f}, "
            f"recon_run_duration_seconds {duration or 0:.2f}{where}"
        )


@contextmanager
def run_metrics(settings: Settings, command: str) -> Iterator[RunMetrics]:
    """Time the block; then push (if configured). A failed push is logged, not raised: the
    records were delivered, and the command's output still shows the numbers."""
    run = RunMetrics(command)
    started = time.perf_counter()
    try:
        yield run
    finally:
        run.metrics.run_duration.labels(command).set(time.perf_counter() - started)
        run.metrics.run_finished.labels(command).set_to_current_time()
        if settings.pushgateway_url:
            try:
                push_to_gateway(
                    settings.pushgateway_url,
                    job=f"recon-{command}",
                    registry=run.metrics.registry,
                    grouping_key={"instance": socket.gethostname(), "app": settings.app_id},
                )
                run.pushed_to = settings.pushgateway_url
            except OSError as exc:
                log.warning("could not push metrics to %s: %s", settings.pushgateway_url, exc)
