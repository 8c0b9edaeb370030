"""A circuit breaker per target (pybreaker), its state exported as a metric.

Closed: calls go through; ``fail_max`` consecutive failed calls open it. Open: calls fail
at once (pybreaker's CircuitBreakerError) for ``reset_seconds``; the delivery loop pauses
the consumer meanwhile. Then one probe call (half-open): success closes it, failure opens
it for another cool-down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pybreaker

from streams.observability.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}

BreakerOpen = pybreaker.CircuitBreakerError


class _Exported(pybreaker.CircuitBreakerListener):
    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker

    def state_change(self, cb: pybreaker.CircuitBreaker, old: Any, new: Any) -> None:
        b = self.breaker
        b.metrics.child(b.metrics.breaker_state, b.target).set(STATE_VALUES[new.name])
        if new.name == pybreaker.STATE_OPEN:
            b.opened_at = time.monotonic()
            b.metrics.child(b.metrics.breaker_opened, b.target).inc()
            log.warning(
                "delivery to %s: circuit breaker open for %.1f s (consumer paused)",
                b.target,
                b.reset_seconds,
            )
        elif new.name == pybreaker.STATE_CLOSED:
            log.warning("delivery to %s: circuit breaker closed again", b.target)


class Breaker:
    def __init__(self, target: str, metrics: Metrics, fail_max: int, reset_seconds: float) -> None:
        self.target = target
        self.metrics = metrics
        self.reset_seconds = reset_seconds
        self.opened_at = 0.0
        self._cb = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_seconds,
            listeners=[_Exported(self)],
            name=target,
        )
        metrics.child(metrics.breaker_state, target).set(0)

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` through the breaker: any exception it raises is a failure."""
        return self._cb.call(func, *args)

    @property
    def state(self) -> str:
        return str(self._cb.current_state)

    def cool_down_left(self) -> float:
        """Seconds until an open breaker lets a probe through; 0 unless open."""
        if self.state != pybreaker.STATE_OPEN:
            return 0.0
        return max(0.0, self.opened_at + self.reset_seconds - time.monotonic())
