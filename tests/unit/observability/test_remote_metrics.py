"""Metrics recorded through a MetricRecorder land in another Metrics as if recorded there."""

from __future__ import annotations

import pickle

import pytest

from streams.observability.metrics import Metrics
from streams.observability.remote_metrics import HelperMetricMisused, MetricRecorder, apply_ops

pytestmark = pytest.mark.unit


def test_recorded_increments_and_observations_apply_to_the_worker_registry() -> None:
    helper, worker = Metrics(), Metrics()
    recorder = MetricRecorder(helper)
    helper.child(helper.records_in, "changelog", "relay").inc(2)
    helper.child(helper.records_in, "changelog", "relay").inc()
    helper.child(helper.ledger_posted, "USD").inc(-12.5)  # a gauge moved by increments
    helper.child(helper.latency, "ledger").observe(0.2)
    helper.child(helper.latency, "ledger").observe(3.0)
    ops = pickle.loads(pickle.dumps(recorder.take()))  # what crosses the pipe

    sample = helper.registry.get_sample_value
    assert sample("recon_records_in_total", {"topic": "changelog", "stage": "relay"}) is None
    apply_ops(worker, ops)
    sample = worker.registry.get_sample_value
    assert sample("recon_records_in_total", {"topic": "changelog", "stage": "relay"}) == 3
    assert sample("recon_ledger_posted_amount", {"currency": "USD"}) == -12.5
    assert sample("recon_end_to_end_latency_seconds_count", {"stage": "ledger"}) == 2
    assert sample("recon_end_to_end_latency_seconds_sum", {"stage": "ledger"}) == 3.2
    assert recorder.take() == {}  # taken once


def test_a_metric_used_without_child_in_the_helper_raises() -> None:
    helper = Metrics()
    recorder = MetricRecorder(helper)
    with pytest.raises(HelperMetricMisused, match=r"metrics\.dlq_records\.labels .*metrics\.child"):
        helper.dlq_records.labels("schema_violation", "parse").inc()
    with pytest.raises(HelperMetricMisused):
        helper.child(Metrics().records_in, "changelog", "relay")  # not the helper's metric
    assert recorder.take() == {}
