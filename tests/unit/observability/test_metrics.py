"""Label children looked up once record into the same series as ``labels`` does."""

from __future__ import annotations

import pytest

from streams.observability.metrics import Metrics

pytestmark = pytest.mark.unit


def test_child_is_the_labelled_series_and_is_looked_up_once() -> None:
    metrics = Metrics()
    child = metrics.child(metrics.records_in, "raw.pos", "process")
    assert child is metrics.child(metrics.records_in, "raw.pos", "process")
    assert child is metrics.records_in.labels("raw.pos", "process")
    child.inc(2)
    metrics.records_in.labels("raw.pos", "process").inc()
    metrics.child(metrics.records_out, "raw.pos", "process").inc()  # same labels, other metric
    sample = metrics.registry.get_sample_value
    assert sample("recon_records_in_total", {"topic": "raw.pos", "stage": "process"}) == 3
    assert sample("recon_records_out_total", {"topic": "raw.pos", "stage": "process"}) == 1
