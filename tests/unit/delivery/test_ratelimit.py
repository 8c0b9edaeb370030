"""The token bucket: a burst goes at once, then the average rate holds; 0 is unlimited."""

from __future__ import annotations

import pytest

from streams.delivery.ratelimit import TokenBucket

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_burst_is_free_then_each_token_waits_its_share() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, burst=5, clock=clock, sleep=clock.sleep)
    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() == pytest.approx(0.1)
    assert bucket.take() == pytest.approx(0.1)
    assert clock.now == pytest.approx(100.2)


def test_tokens_come_back_with_time_up_to_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, burst=4, clock=clock, sleep=clock.sleep)
    bucket.take(4)
    clock.now += 60  # a long idle time saves no more than the burst
    assert bucket.take(4) == 0.0
    assert bucket.take(1) == pytest.approx(0.5)


def test_a_take_larger_than_the_burst_goes_at_the_average_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(100.0, burst=100, clock=clock, sleep=clock.sleep)
    assert bucket.take(300) == pytest.approx(2.0)  # 200 tokens of debt at 100/s
    assert bucket.take(100) == pytest.approx(1.0)


def test_rate_zero_is_unlimited() -> None:
    clock = Clock()
    bucket = TokenBucket(0.0, clock=clock, sleep=clock.sleep)
    assert sum(bucket.take(1000) for _ in range(100)) == 0.0
    assert clock.slept == []
