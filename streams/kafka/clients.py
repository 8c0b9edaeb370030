"""Every confluent-kafka client's configuration, in one place.

Producers share what makes their outputs safe and co-partitioned: idempotence, acks=all,
lz4, and the Java-compatible murmur2 partitioner (the one Faust's aiokafka producer and
Java clients use), so a key lands on the same partition whoever produced it. The roles
differ only in how they batch. Every client connects with the settings' security
(TLS, SASL: streams/kafka/security.py) and fails fast when the login or TLS is refused.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from streams.kafka.partitioner import PARTITIONER
from streams.kafka.security import SecurityWatch, ensure_access, librdkafka_security
from streams.observability.metrics import Metrics
from streams.observability.producer_stats import RetryCounter
from streams.settings import Settings

# librdkafka's own log lines go through Python logging (JSON in the worker), not raw stderr.
LIBRDKAFKA_LOG = logging.getLogger("librdkafka")

ProducerRole = Literal["ingest", "agents", "relay", "operator"]

# Per role, what differs. The agents and the relay end every batch in a flush, which sends
# at once: their linger only lets a batch's outputs leave in a few large requests. Ingest
# streams a file: a short linger, large batches, and a bounded queue, whose BufferError
# means "wait" and keeps memory flat on huge files.
BATCHING: dict[ProducerRole, dict[str, Any]] = {
    "ingest": {
        "linger.ms": 20,
        "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 100_000,
        "queue.buffering.max.kbytes": 64 * 1024,
    },
    "agents": {"linger.ms": 100},
    "relay": {"linger.ms": 100},
    "operator": {"linger.ms": 20},
}


def connection_config(settings: Settings) -> dict[str, Any]:
    """Where and how every client connects: bootstrap servers, TLS and SASL, and the
    error callback that turns a refused login or certificate into KafkaSecurityError.
    A secured connection is probed once first (KafkaSecurityError in seconds)."""
    ensure_access(settings)
    return {
        "bootstrap.servers": settings.bootstrap,
        "error_cb": SecurityWatch(settings),
        **librdkafka_security(settings),
    }


def producer_config(
    settings: Settings,
    role: ProducerRole = "operator",
    metrics: Metrics | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The configuration of a producer in ``role``; with ``metrics``, librdkafka's
    statistics count retries under that role."""
    config: dict[str, Any] = {
        **connection_config(settings),
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "lz4",
        "partitioner": PARTITIONER,
        "logger": LIBRDKAFKA_LOG,
        **BATCHING[role],
    }
    if metrics is not None:
        config["statistics.interval.ms"] = int(settings.metrics_interval_seconds * 1000)
        config["stats_cb"] = RetryCounter(metrics, role)
    config.update(extra)
    return config


def producer(
    settings: Settings,
    role: ProducerRole = "operator",
    metrics: Metrics | None = None,
    **extra: Any,
) -> Producer:
    return Producer(producer_config(settings, role, metrics, **extra))


def consumer_config(settings: Settings, group: str | None = None, **extra: Any) -> dict[str, Any]:
    """A consumer that commits only when told to and starts from the earliest offset."""
    return {
        **connection_config(settings),
        "group.id": group or f"{settings.app_id}-reader",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        "logger": LIBRDKAFKA_LOG,
        **extra,
    }


def consumer(settings: Settings, group: str | None = None, **extra: Any) -> Consumer:
    return Consumer(consumer_config(settings, group, **extra))


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient(connection_config(settings))
