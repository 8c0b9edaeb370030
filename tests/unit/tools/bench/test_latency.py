"""The latency stage waits out a consumer group's coordinator while it loads, and still
gives up at its deadline."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.kafka.read import Lag
from streams.settings import Settings
from streams.tools.bench import latency
from streams.tools.bench.procs import BenchError

pytestmark = pytest.mark.unit

NOT_COORDINATOR = KafkaException(KafkaError(KafkaError.NOT_COORDINATOR))


def answers(monkeypatch: pytest.MonkeyPatch, *replies: object) -> list[object]:
    pending = list(replies)

    class Probe:
        def __init__(self, settings: Settings, group: str) -> None:
            pass

        def lag(self, topics: list[str]) -> list[Lag]:
            reply = pending.pop(0) if len(pending) > 1 else pending[0]
            if isinstance(reply, Exception):
                raise reply
            assert isinstance(reply, list)
            return reply

        def close(self) -> None:
            pass

    monkeypatch.setattr(latency, "LagProbe", Probe)
    monkeypatch.setattr(latency.time, "sleep", lambda seconds: None)
    return pending


def test_a_group_whose_coordinator_is_loading_is_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caught_up = [Lag("raw", 0, committed=5, end=5)]
    pending = answers(monkeypatch, NOT_COORDINATOR, NOT_COORDINATOR, caught_up)
    latency.wait_caught_up(Settings(), ["raw"], "group", timeout=60)
    assert pending == [caught_up]


def test_it_gives_up_at_the_deadline_naming_the_last_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers(monkeypatch, NOT_COORDINATOR)
    with pytest.raises(BenchError, match=r"not caught up .*last error: .*NOT_COORDINATOR"):
        latency.wait_caught_up(Settings(), ["raw"], "group", timeout=0.2)
