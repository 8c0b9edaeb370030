"""Every client's configuration comes from streams.kafka.clients: one set of safety settings
and one partitioner for every producer, whatever its role."""

from __future__ import annotations

import pytest

from streams.kafka import clients
from streams.observability.metrics import Metrics
from streams.observability.producer_stats import RetryCounter
from streams.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("role", sorted(clients.BATCHING))
def test_every_producer_is_idempotent_and_co_partitions(role: clients.ProducerRole) -> None:
    conf = clients.producer_config(Settings(bootstrap_servers="b:1"), role)
    assert conf["bootstrap.servers"] == "b:1"
    assert conf["enable.idempotence"] is True
    assert conf["acks"] == "all"
    assert conf["partitioner"] == "murmur2_random"
    assert conf["compression.type"] == "lz4"
    assert conf["logger"] is clients.LIBRDKAFKA_LOG


def test_ingest_bounds_its_queue_and_batch_roles_linger() -> None:
    settings = Settings(bootstrap_servers="b:1")
    ingest = clients.producer_config(settings, "ingest")
    assert ingest["queue.buffering.max.messages"] == 100_000
    assert ingest["linger.ms"] == 20
    assert clients.producer_config(settings, "agents")["linger.ms"] == 100
    assert clients.producer_config(settings, "relay")["linger.ms"] == 100


def test_metrics_count_retries_under_the_role() -> None:
    conf = clients.producer_config(Settings(metrics_interval_seconds=2.0), "relay", Metrics())
    assert conf["statistics.interval.ms"] == 2000
    assert isinstance(conf["stats_cb"], RetryCounter)
    assert conf["stats_cb"].client == "relay"


def test_extra_settings_win() -> None:
    conf = clients.consumer_config(Settings(), "g", **{"enable.auto.commit": True})
    assert conf["group.id"] == "g"
    assert conf["enable.auto.commit"] is True
    assert conf["auto.offset.reset"] == "earliest"
