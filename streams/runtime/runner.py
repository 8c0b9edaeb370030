"""Running the worker: local-state hygiene, the ledger relay, optional drain, exit status.

Local RocksDB state is a cache of the changelog. After an unclean stop (kill -9, OOM,
power loss) it may hold writes the changelog never received, so it is discarded and
rebuilt from the changelog; a clean stop leaves a marker that lets the next start reuse it.
"""

from __future__ import annotations

import logging
import logging.config
import shutil

import faust

from streams.errors import KafkaOperationError, ReconError
from streams.kafka.schemas import publish_schemas
from streams.observability.logs import level_number, logging_config
from streams.observability.metrics import Metrics
from streams.relay.process import RelayProcess
from streams.runtime.app import create_app
from streams.runtime.drain import install_drain
from streams.runtime.health import WorkerObservability
from streams.runtime.state.restore import restore_tables
from streams.settings import Settings

log = logging.getLogger(__name__)


class WorkerError(ReconError):
    """The worker stopped without doing what it was asked."""


def prepare_state_dir(settings: Settings) -> bool:
    """Drop local state left by an unclean stop. Returns True if it was dropped."""
    root = settings.state_dir / "faust"
    marker = settings.clean_shutdown_marker
    dropped = False
    if root.exists() and not marker.exists():
        log.warning("unclean shutdown detected: rebuilding local state from the changelog")
        shutil.rmtree(root)
        dropped = True
    marker.unlink(missing_ok=True)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return dropped


def drain_settings(settings: Settings) -> Settings:
    """A drain stops after two checks in a row (``drain_idle_seconds / 2`` apart) saw the
    inputs' end offsets unchanged; the window ticks the worker sends itself move them, so
    they are spaced so that such a pair always fits between two ticks. The drain's own end
    ticks close the windows either way."""
    floor = 2 * settings.drain_idle_seconds
    if settings.match_tick_seconds >= floor:
        return settings
    return settings.with_overrides(match_tick_seconds=floor)


def run_worker(settings: Settings, *, drain: bool, loglevel: str = "warn") -> None:
    level = level_number(loglevel)
    config = logging_config(level, settings.log_format)
    logging.config.dictConfig(config)  # before anything logs; the Faust worker re-applies it
    prepare_state_dir(settings)
    if drain:
        settings = drain_settings(settings)
    metrics = Metrics()
    app, pipelines = create_app(settings, metrics)
    relay = RelayProcess(
        settings, {topic: fn for p in pipelines for topic, fn in p.relays.items()}, metrics
    )
    relay.start()  # a fork: before the worker has threads, sockets or Kafka clients
    # The versions this release writes (docs/data-contract.md). `recon topics create`
    # publishes them too, and fails if it cannot; a worker goes on without.
    try:
        publish_schemas(settings, timeout=10.0)
    except KafkaOperationError as exc:
        log.warning("schema versions not published: %s", exc)
    # In bulk, not record by record through Faust's recovery (runtime/state/restore.py).
    restore_tables(app, settings)
    observability = WorkerObservability(app, settings, pipelines, metrics)
    drain_state = install_drain(app, settings, pipelines, relay) if drain else None
    worker = faust.Worker(
        app,
        loglevel=level,
        logging_config=config,
        quiet=True,
        redirect_stdouts=False,
    )
    # Faust's terminal spinner sets the root logger to DEBUG (so that it spins on every log
    # record): every faust/aiokafka debug call then builds and routes a record, ~9% of the
    # worker's time in a profile. A batch/daemon worker has no use for a spinner.
    worker.spinner = None
    observability.start()
    try:
        worker.execute_from_commandline()
    except SystemExit:
        pass  # mode exits through SystemExit after a graceful stop
    finally:
        relay.stop()
        observability.stop()
    (settings.clean_shutdown_marker).touch()
    if relay.failure is not None:
        raise WorkerError(f"outbox relay failed: {relay.failure}")
    if drain_state is not None:
        if drain_state.error is not None:
            raise WorkerError(f"drain failed: {drain_state.error}")
        if not drain_state.finished:
            raise WorkerError("worker stopped before it had drained its inputs")
