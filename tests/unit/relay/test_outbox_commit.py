"""The relay's commit after a delivered batch: a busy coordinator (a broker restarting) is
waited out, reassigned partitions are left to their new owner, anything else fails."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.relay.outbox import commit

pytestmark = pytest.mark.unit


class Consumer:
    def __init__(self, *errors: int) -> None:
        self.errors = list(errors)
        self.calls = 0

    def commit(self, asynchronous: bool) -> Any:
        assert asynchronous is False
        self.calls += 1
        if self.errors:
            raise KafkaException(KafkaError(self.errors.pop(0)))
        return None


def test_a_busy_coordinator_is_waited_out() -> None:
    consumer = Consumer(KafkaError._WAIT_COORD, KafkaError.COORDINATOR_LOAD_IN_PROGRESS)
    commit(consumer)  # type: ignore[arg-type]
    assert consumer.calls == 3


def test_reassigned_partitions_are_not_committed() -> None:
    consumer = Consumer(KafkaError.REBALANCE_IN_PROGRESS)
    commit(consumer)  # type: ignore[arg-type]
    assert consumer.calls == 1


def test_other_errors_and_a_coordinator_busy_too_long_fail() -> None:
    with pytest.raises(KafkaException):
        commit(Consumer(KafkaError._INVALID_ARG))  # type: ignore[arg-type]
    with pytest.raises(KafkaException):
        commit(Consumer(KafkaError._WAIT_COORD), retry_seconds=0)  # type: ignore[arg-type]
