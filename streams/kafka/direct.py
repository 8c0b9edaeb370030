"""Agent outputs through confluent-kafka, flushed before a batch's offsets are acked.

Faust sends through aiokafka, whose pure-Python producer costs about 100 µs of the event
loop per message (the largest item of a worker's profile once records are batched). The
rebate agents send each outcome, DLQ record and changelog record of their write-behind
state here instead: librdkafka batches and sends them on its own threads, and ``flush``
waits for every delivery before the batch returns, so Faust commits an offset only after
everything its record produced is durable (the same order as Faust's own commit, which
flushes its producer first).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from streams.kafka import clients
from streams.observability.metrics import Metrics
from streams.settings import Settings

Headers = list[tuple[str, bytes]]
Delivered = Callable[[str, int, int], None]  # topic, partition, highest offset delivered


class DeliveryFailed(RuntimeError):
    """An agent output was refused or timed out (librdkafka's message.timeout.ms)."""


class DirectOutput:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self._producer: Producer | None = None
        self._failures: list[str] = []
        self._observers: dict[str, Delivered] = {}
        self._highest: dict[tuple[str, int], int] = {}  # of the observed topics, this flush
        # Delivery reports run on whichever thread serves them: a flush's executor thread
        # while another agent's flush on the loop takes the offsets.
        self._lock = threading.Lock()

    def _client(self) -> Producer:
        if self._producer is None:  # in the worker, not when the app is built
            self._producer = clients.producer(
                self.settings,
                "agents",
                self.metrics,
                # One callback for every message: a closure per message cost more than the
                # produce call itself.
                on_delivery=self._report,
            )
        return self._producer

    def observe(self, topic: str, delivered: Delivered) -> None:
        """Have ``flush`` call ``delivered`` once per partition of ``topic`` it delivered
        to, with the highest offset (what Faust records of a changelog after a batch)."""
        self._observers[topic] = delivered

    def _report(self, err: KafkaError | None, msg: Message) -> None:
        topic = msg.topic() or ""
        if err is not None:
            self._failures.append(f"{topic}: {err}")
        elif topic in self._observers:
            tp, offset = (topic, msg.partition() or 0), msg.offset() or 0
            with self._lock:
                if offset > self._highest.get(tp, -1):
                    self._highest[tp] = offset

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
        partition: int | None = None,
    ) -> None:
        producer = self._client()
        kwargs: dict[str, Any] = {"key": key, "value": value}
        if headers:
            kwargs["headers"] = headers
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                producer.produce(topic, **kwargs)
                return
            except BufferError:
                producer.poll(0.05)
            except KafkaException as exc:
                self._failures.append(f"{topic}: {exc}")
                return

    async def flush(self) -> None:
        """Wait until every message sent so far is delivered; raise DeliveryFailed if any
        was not (the worker then exits without acking the batch: ``runtime.agents``)."""
        producer = self._producer
        if producer is None:
            return
        loop = asyncio.get_running_loop()
        while len(producer):
            # In a thread: the event loop keeps serving heartbeats and fetches meanwhile.
            await loop.run_in_executor(None, producer.flush, 1.0)
        producer.poll(0)  # delivery reports run here, on the loop's thread
        with self._lock:
            highest, self._highest = self._highest, {}
        for (topic, partition), offset in highest.items():
            self._observers[topic](topic, partition, offset)
        if self._failures:
            failures, self._failures = self._failures, []
            self.metrics.producer_errors.labels("agents").inc(len(failures))
            raise DeliveryFailed(f"{len(failures)} agent outputs not delivered: {failures[0]}")
