"""Ingest's questions to the cluster wait out a broker restart (streams/ingest/reach.py),
and give up with the broker named."""

from __future__ import annotations

import time

import pytest

from streams.formats.csv_source import IngestError
from streams.ingest import reach
from streams.settings import Settings

pytestmark = pytest.mark.unit


def _transport_error() -> Exception:
    from confluent_kafka import KafkaError, KafkaException

    from streams.errors import KafkaOperationError

    cause = KafkaException(KafkaError(KafkaError._TRANSPORT))
    error = KafkaOperationError("cannot read max.message.bytes of topic t.raw.pos")
    error.__cause__ = cause
    return error


def test_reaching_rides_out_a_broker_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    answers: list[Exception | int] = [_transport_error(), _transport_error(), 1_048_576]

    def request() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert reach.reaching(Settings(), request) == 1_048_576
    assert answers == []


def test_reaching_gives_up_with_the_broker_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reach, "REACH_SECONDS", 0.0)

    def request() -> int:
        raise _transport_error()

    with pytest.raises(IngestError, match=r"cannot reach Kafka at .*max\.message\.bytes"):
        reach.reaching(Settings(), request)


def test_reaching_does_not_retry_what_waiting_cannot_fix() -> None:
    calls: list[int] = []

    def request() -> int:
        calls.append(1)
        raise IngestError("max.message.bytes=1000 on one of t.raw.pos is too small")

    with pytest.raises(IngestError, match="too small"):
        reach.reaching(Settings(), request)
    assert calls == [1]
