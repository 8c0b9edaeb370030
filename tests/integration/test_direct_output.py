"""Agent outputs through confluent-kafka on the real broker: a flush reports, per observed
partition, the highest offset it delivered (what the state tables record as persisted, so
a restarted worker's recovery resumes after it), and nothing for other topics."""

from __future__ import annotations

import asyncio

import pytest
from confluent_kafka import Consumer, TopicPartition

from streams.kafka import topics as t
from streams.kafka.direct import DirectOutput
from streams.observability.metrics import Metrics
from streams.settings import Settings
from tests.integration.chaos import create_topics

pytestmark = pytest.mark.integration


def end_offset(settings: Settings, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": "offsets"})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        return int(high)
    finally:
        consumer.close()


def test_a_flush_reports_the_highest_offset_delivered_per_observed_partition(
    isolated_settings: Settings,
) -> None:
    settings = isolated_settings
    create_topics(settings)
    observed, other = settings.topic(t.OUTCOMES), settings.topic(t.DLQ)
    output = DirectOutput(settings, Metrics())
    reported: list[tuple[str, int, int]] = []
    output.observe(observed, lambda topic, p, offset: reported.append((topic, p, offset)))

    for n in range(3):
        output.send(observed, b"k", f"a{n}".encode(), partition=2)
    output.send(observed, b"k", b"b", partition=5)
    output.send(other, b"k", b"c", partition=2)
    asyncio.run(output.flush())

    assert sorted(reported) == [(observed, 2, 2), (observed, 5, 0)]
    assert end_offset(settings, observed, 2) == 3  # the highest offset is the last one

    reported.clear()
    output.send(observed, b"k", b"a3", partition=2)
    asyncio.run(output.flush())
    assert reported == [(observed, 2, 3)]  # a flush reports only what it delivered
