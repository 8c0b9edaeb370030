from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from streams.observability.metrics import Metrics
from streams.observability.producer_stats import RetryCounter
from streams.observability.server import Health, ObservabilityServer
from tests.integration.prometheus_server import http_get

pytestmark = pytest.mark.unit


@pytest.fixture
def served() -> Iterator[tuple[Metrics, Health, str]]:
    metrics, health = Metrics(), Health(stall_seconds=0.5)
    server = ObservabilityServer(metrics, health, "127.0.0.1", 0)
    server.start()
    yield metrics, health, f"http://127.0.0.1:{server.port}"
    server.stop()


def test_metrics_endpoint_serves_this_registry(served: tuple[Metrics, Health, str]) -> None:
    metrics, _, url = served
    metrics.records_in.labels("p.raw.pos", "process").inc(3)
    metrics.latency.labels("outcome").observe(0.2)
    status, body = http_get(f"{url}/metrics")
    text = body.decode()
    assert status == 200
    assert 'recon_records_in_total{stage="process",topic="p.raw.pos"} 3.0' in text
    assert 'recon_end_to_end_latency_seconds_bucket{le="0.25",stage="outcome"} 1.0' in text


def test_two_containers_do_not_share_series() -> None:
    a, b = Metrics(), Metrics()
    a.duplicates_skipped.labels("t").inc()
    assert b.registry.get_sample_value("recon_duplicates_skipped_total", {"topic": "t"}) is None
    assert a.registry.get_sample_value("recon_duplicates_skipped_total", {"topic": "t"}) == 1


def test_readiness_follows_recovery_and_liveness_the_event_loop(
    served: tuple[Metrics, Health, str],
) -> None:
    _, health, url = served
    assert http_get(f"{url}/readyz") == (503, b"recovering\n")
    health.ready = True
    assert http_get(f"{url}/readyz") == (200, b"ready\n")
    assert http_get(f"{url}/healthz")[0] == 200  # starting: no tick yet
    health.tick()
    assert http_get(f"{url}/healthz")[0] == 200
    time.sleep(0.6)  # no tick for longer than stall_seconds
    assert http_get(f"{url}/healthz") == (503, b"event loop stalled\n")
    assert http_get(f"{url}/other")[0] == 404


def test_retry_counter_adds_the_growth_of_librdkafka_txretries() -> None:
    metrics = Metrics()
    count = RetryCounter(metrics, "relay")

    def stats(*retries: int) -> str:
        return json.dumps({"brokers": {f"b{i}": {"txretries": r} for i, r in enumerate(retries)}})

    # cumulative totals 0, 3, 3 (no new retries), 5; an unreadable report changes nothing
    for report in (stats(0, 0), stats(2, 1), stats(2, 1), stats(4, 1), "not json"):
        count(report)
    assert metrics.registry.get_sample_value(
        "recon_producer_retries_total", {"client": "relay"}
    ) == 5
