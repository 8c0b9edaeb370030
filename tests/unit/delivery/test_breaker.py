"""The breaker opens after fail_max consecutive failures, lets one probe through after the
cool-down, and exports its state."""

from __future__ import annotations

import time

import pytest

from streams.delivery.breaker import Breaker, BreakerOpen
from streams.observability.metrics import Metrics

pytestmark = pytest.mark.unit


def fail() -> None:
    raise OSError("down")


def test_open_after_fail_max_then_half_open_probe_closes_it() -> None:
    metrics = Metrics()
    breaker = Breaker("erp", metrics, fail_max=2, reset_seconds=0.2)
    state = lambda: metrics.registry.get_sample_value(  # noqa: E731
        "recon_delivery_breaker_state", {"target": "erp"}
    )
    assert state() == 0
    with pytest.raises(OSError):
        breaker.call(fail)
    with pytest.raises(BreakerOpen):
        breaker.call(fail)  # the second failure trips it
    assert state() == 2 and breaker.state == "open"
    assert 0 < breaker.cool_down_left() <= 0.2
    with pytest.raises(BreakerOpen):
        breaker.call(lambda: "not called")
    time.sleep(0.25)
    assert breaker.cool_down_left() == 0.0
    assert breaker.call(lambda: "probe") == "probe"
    assert state() == 0 and breaker.state == "closed"
    opened = metrics.registry.get_sample_value(
        "recon_delivery_breaker_opened_total", {"target": "erp"}
    )
    assert opened == 1


def test_a_failed_probe_opens_it_again() -> None:
    metrics = Metrics()
    breaker = Breaker("postgres", metrics, fail_max=1, reset_seconds=0.1)
    with pytest.raises(BreakerOpen):
        breaker.call(fail)
    time.sleep(0.15)
    with pytest.raises(BreakerOpen):
        breaker.call(fail)
    assert breaker.state == "open"
    opened = metrics.registry.get_sample_value(
        "recon_delivery_breaker_opened_total", {"target": "postgres"}
    )
    assert opened == 2
