"""The delivery loop's pieces without a broker: batches from messages, a batch less revoked
partitions, holding a batch while the target is down (paused, offered again, resumed)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Message, TopicPartition

from streams.delivery.breaker import Breaker
from streams.delivery.loop import DeliveryLoop, batch_of
from streams.delivery.target import Delivered, Entry, Position, TargetUnavailable
from streams.domain.accrual.postings import EntryKind, Posting
from streams.errors import Category, Stage
from streams.formats.records import ledger_record
from streams.observability.metrics import Metrics
from streams.settings import Settings

pytestmark = pytest.mark.unit

TOPIC = "recon.ledger"


def ledger_message(n: int, partition: int, offset: int) -> Message:
    p = Posting(
        entry_id=f"e{n}",
        agreement_id="A",
        vendor_id="V",
        period="2026-03",
        kind=EntryKind.ACCRUAL,
        amount=Decimal("1.25"),
        currency="EUR",
        measure=Decimal(1),
        posted_total=Decimal("1.25"),
        source_key="k",
    )
    value = ledger_record(p, datetime(2026, 3, 1, tzinfo=UTC))
    return Message(topic=TOPIC, partition=partition, offset=offset, value=value, headers=[])


def test_a_batch_decodes_entries_dead_letters_the_rest_and_knows_its_next_offsets() -> None:
    garbage = Message(topic=TOPIC, partition=1, offset=7, value=b"\xff\x00", headers=[])
    batch = batch_of([ledger_message(1, 0, 3), garbage, ledger_message(2, 0, 4)])
    assert [(e.entry_id, e.partition, e.offset) for e in batch.entries] == [
        ("e1", 0, 3),
        ("e2", 0, 4),
    ]
    assert batch.positions == [Position(TOPIC, 0, 5), Position(TOPIC, 1, 8)]
    ((entry, error),) = batch.undecodable
    assert (entry.partition, entry.offset) == (1, 7)
    assert (error.category, error.stage) == (Category.PARSE_ERROR, Stage.SINK)
    assert "recon.ledger/1@7" in error.message and error.field == "value"
    src = entry.source()  # the DLQ record carries the original bytes
    assert src.value == b"\xff\x00" and src.offset == 7

    kept = batch.without({(TOPIC, 1)})
    assert kept.positions == [Position(TOPIC, 0, 5)] and not kept.undecodable
    assert len(kept.entries) == 2


class FakeConsumer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, 0)]

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.calls.append("pause")

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.calls.append("resume")

    def consume(self, num: int, timeout: float) -> list[Message]:
        return []


class FlakyTarget:
    name = "fake"
    topics = ("ledger",)
    stores_positions = False

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.offers = 0

    def deliver(self, group: str, entries: list[Entry], positions: list[Position]) -> Delivered:
        self.offers += 1
        if self.offers <= self.failures:
            raise TargetUnavailable("down")
        return Delivered(accepted=len(entries))


def loop_for(target: Any) -> DeliveryLoop:
    metrics = Metrics()
    return DeliveryLoop(Settings(), target, Breaker("fake", metrics, 5, 0.1), metrics)


def test_a_batch_is_held_paused_and_offered_again_until_the_target_takes_it() -> None:
    target = FlakyTarget(failures=2)
    consumer = FakeConsumer()
    batch = batch_of([ledger_message(1, 0, 0), ledger_message(2, 0, 1)])
    done = loop_for(target)._deliver(consumer, batch, lambda: False)  # type: ignore[arg-type]
    assert done is not None and done[1].accepted == 2
    assert target.offers == 3
    assert consumer.calls == ["pause", "resume"]


def test_a_stop_while_the_target_is_down_returns_nothing_to_commit() -> None:
    consumer = FakeConsumer()
    batch = batch_of([ledger_message(1, 0, 0)])
    done = loop_for(FlakyTarget(failures=100))._deliver(consumer, batch, lambda: True)  # type: ignore[arg-type]
    assert done is None
    assert consumer.calls == ["pause", "resume"]
