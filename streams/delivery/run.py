"""`recon deliver TARGET` as a process: logging, /metrics, signals, the loop."""

from __future__ import annotations

import logging
import logging.config
import signal
import threading
from types import FrameType

from streams.delivery.breaker import Breaker
from streams.delivery.drain import deliver_until_caught_up
from streams.delivery.loop import DeliveryLoop
from streams.delivery.postgres import PostgresTarget
from streams.delivery.target import Target
from streams.errors import ConfigError
from streams.observability.logs import level_number, logging_config
from streams.observability.metrics import Metrics
from streams.observability.server import Health, ObservabilityServer
from streams.settings import Settings

log = logging.getLogger(__name__)

TARGETS = ("postgres", "erp", "archive", "inventory")


def build_target(
    name: str, settings: Settings, metrics: Metrics, postgres_dsn: str | None = None
) -> tuple[Target, Breaker]:
    """The target called ``name`` and its circuit breaker."""
    breaker = Breaker(name, metrics, settings.breaker_fail_max, settings.breaker_reset_seconds)
    if name == "postgres":
        dsn = postgres_dsn or settings.postgres_dsn
        if not dsn:
            raise ConfigError("delivery to postgres: no server (set RECON_POSTGRES_DSN)")
        return PostgresTarget(dsn, settings.postgres_schema, breaker), breaker
    if name == "erp":
        from streams.delivery.erp import ErpTarget  # httpx only where it is used

        if not settings.erp_url:
            raise ConfigError("delivery to erp: no endpoint (set RECON_ERP_URL)")
        return ErpTarget(settings, metrics, breaker), breaker
    if name == "inventory":
        from streams.delivery.inventory_api import InventoryApiTarget

        return InventoryApiTarget(settings, metrics, breaker), breaker
    if name == "archive":
        from streams.delivery.archive import ArchiveTarget  # pyarrow only where it is used

        return ArchiveTarget(settings.archive_root), breaker
    raise ConfigError(f"delivery target {name!r}: expected one of {', '.join(TARGETS)}")


def run_delivery(
    settings: Settings,
    target_name: str,
    *,
    postgres_dsn: str | None = None,
    loglevel: str = "warn",
    drain: bool = False,
) -> None:
    """Deliver the topics ``target_name`` takes until SIGTERM or SIGINT; with ``drain``,
    until its group has caught up (then return)."""
    logging.config.dictConfig(logging_config(level_number(loglevel), settings.log_format))
    metrics = Metrics()
    target, breaker = build_target(target_name, settings, metrics, postgres_dsn)
    if drain:
        deliver_until_caught_up(settings, target, breaker, metrics)
        return
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.warning("delivery to %s: signal %d, stopping after the batch", target_name, signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    health = Health(settings.liveness_stall_seconds)
    server = ObservabilityServer(metrics, health, settings.metrics_host, settings.metrics_port)
    server.start()
    health.ready = True
    try:
        DeliveryLoop(settings, target, breaker, metrics).run(stop.is_set, health.tick)
    finally:
        server.stop()
