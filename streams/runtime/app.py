"""The Faust app factory: one app, every pipeline registered on it, built from Settings."""

from __future__ import annotations

import faust

from streams.kafka.security import ensure_access
from streams.observability.metrics import Metrics
from streams.runtime.faust import eager as faust_eager
from streams.runtime.faust import seek as faust_seek
from streams.runtime.faust.credentials import broker_credentials
from streams.runtime.faust.tables import PromptTableManager
from streams.runtime.pipeline import Pipeline, Register
from streams.runtime.pipelines import acks, inventory, matching, rebates, threeway
from streams.settings import Settings

# Faust applies backpressure on table writes above this many unsent messages; its default
# of 100 stalls (and warns) several times a second under ordinary load.
PRODUCER_BUFFER_MESSAGES = 5_000

PIPELINES: tuple[Register, ...] = (
    rebates.register,
    matching.register,
    threeway.register,
    acks.register,
    inventory.register,
)


def create_app(
    settings: Settings, metrics: Metrics | None = None
) -> tuple[faust.App, list[Pipeline]]:
    """The app and its pipelines; ``metrics`` (a fresh registry if omitted) is what the
    agents and relay handlers record into."""
    faust_seek.install()  # stream records dropped when recovery ends (see the module)
    faust_eager.install()  # a task per fetched message (see the module)
    metrics = metrics or Metrics()
    # aiokafka retries a refused login quietly: refuse to start instead, with the reason.
    ensure_access(settings)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap.split(",")],
        broker_credentials=broker_credentials(settings),
        store="rocksdb://",
        datadir=str(settings.state_dir / "faust"),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        broker_commit_interval=settings.commit_interval_seconds,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.session_timeout_seconds / 3,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=settings.table_standby_replicas,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        TableManager=PromptTableManager,  # no 1 s pause at start (see the module)
    )
    app.producer.buffer.max_messages = PRODUCER_BUFFER_MESSAGES
    return app, [register(app, settings, metrics) for register in PIPELINES]
