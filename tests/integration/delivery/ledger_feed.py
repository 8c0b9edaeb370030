"""Synthetic ledger entries published to a test's ledger topic (as the outbox relay would,
duplicate copies included), and the checks every delivery test ends with."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast

from confluent_kafka import TopicPartition

from streams.domain.accrual.postings import EntryKind, Posting
from streams.formats.records import ledger_message
from streams.kafka import clients
from streams.kafka import topics as t
from streams.kafka.read import partitions
from streams.ops.ledger import read_ledger
from streams.settings import Settings

CREATED = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
DAYS = 3  # business dates the entries are spread over (created_at)


def postings(count: int, seed: int = 7) -> list[Posting]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        agreement = f"AGR-{n % 17:03d}"
        cents = rng.randint(-50_000, 250_000)
        out.append(
            Posting(
                entry_id=f"e{seed}-{n:07d}",
                agreement_id=agreement,
                vendor_id=f"V{n % 17:03d}",
                period=f"2026-0{1 + n % 3}",
                kind=EntryKind.ACCRUAL if cents >= 0 else EntryKind.REVERSAL,
                amount=Decimal(cents).scaleb(-2),
                currency="EUR",
                measure=Decimal(rng.randint(1, 10_000)),
                posted_total=Decimal(0),
                source_key=f"k{n}",
                correlation_id=f"run:{n}",
            )
        )
    return out


def publish(settings: Settings, entries: list[Posting], duplicate_every: int = 0) -> int:
    """Publish ``entries`` to the ledger topic; every ``duplicate_every``-th twice (a relay
    replay). Returns the messages published."""
    producer = clients.producer(settings)
    topic = settings.topic(t.LEDGER)
    sent = 0
    for n, p in enumerate(entries):
        key, value, headers = ledger_message(p, CREATED + timedelta(days=n % DAYS))
        copies = 2 if duplicate_every and n % duplicate_every == 0 else 1
        for _ in range(copies):
            producer.produce(
                topic,
                key=key,
                value=value,
                headers=cast("list[tuple[str, str | bytes | None]]", headers),
            )
            sent += 1
            producer.poll(0)
    assert producer.flush(60) == 0, "ledger entries not delivered to Kafka"
    return sent


def end_offsets(settings: Settings) -> dict[int, int]:
    c = clients.consumer(settings)
    try:
        topic = settings.topic(t.LEDGER)
        return {
            tp.partition: c.get_watermark_offsets(TopicPartition(topic, tp.partition))[1]
            for tp in partitions(c, topic)
        }
    finally:
        c.close()


def ledger_totals(settings: Settings) -> dict[tuple[str, str, str], tuple[Decimal, int]]:
    """What the ledger topic says, each entry_id once (`recon ledger totals`)."""
    return read_ledger(settings).totals()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.1)


class LoopThread(threading.Thread):
    """A delivery loop run in a thread of the test (its metrics readable), stopped on
    request; ``join_checked`` re-raises what stopped it otherwise."""

    def __init__(self, run: Callable[[Callable[[], bool]], None]) -> None:
        super().__init__(name="delivery-loop", daemon=True)
        self._run = run
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._run(self.stopping.is_set)
        except BaseException as exc:
            self.error = exc

    def stop(self, timeout: float = 60.0) -> None:
        self.stopping.set()
        self.join(timeout)
        assert not self.is_alive(), "delivery loop did not stop"
        if self.error is not None:
            raise self.error

    def check_alive(self) -> None:
        if not self.is_alive() and self.error is not None:
            raise self.error
