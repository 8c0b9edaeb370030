"""Baseline (a): raw confluent-kafka pass-through, the practical ceiling of Python here.

Consume each raw message and produce it (key, value, headers, partition) to another topic,
no processing, with the producer settings our ingest uses. Timed from the first message
consumed to the last delivery flushed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from streams.kafka import clients
from streams.settings import Settings
from streams.tools.bench.procs import BenchError, per_second


@dataclass(frozen=True)
class PassThrough:
    messages: int
    seconds: float
    cpu_seconds: float  # this process, librdkafka's threads included

    @property
    def cpu_rate(self) -> float:
        return per_second(self.messages, self.cpu_seconds)

    @property
    def rate(self) -> float:
        return per_second(self.messages, self.seconds)


def pass_through(settings: Settings, source: str, expected: int, timeout: float) -> PassThrough:
    target = f"{source}.passthrough"
    admin = clients.admin_client(settings)
    partitions = len(admin.list_topics(source, timeout=15).topics[source].partitions)
    for future in admin.create_topics([NewTopic(target, partitions, 1)]).values():
        future.result()
    consumer = clients.consumer(
        settings, f"bench-passthrough-{uuid.uuid4().hex[:8]}", **{"enable.auto.commit": True}
    )
    config = clients.producer_config(settings, "ingest")
    config.pop("partitioner", None)  # partitions are copied, not recomputed
    producer = Producer(config)
    consumer.subscribe([source])
    count, started, cpu = 0, 0.0, 0.0
    deadline = time.monotonic() + timeout
    try:
        while count < expected:
            if time.monotonic() > deadline:
                raise BenchError(f"pass-through: {count} of {expected} messages in {timeout} s")
            batch = consumer.consume(1000, timeout=0.5)
            if batch and not started:
                started, cpu = time.perf_counter(), time.process_time()
            for msg in batch:
                if msg.error() is not None:
                    continue
                while True:
                    try:
                        producer.produce(
                            target,
                            value=msg.value(),
                            key=msg.key(),
                            headers=msg.headers(),
                            partition=msg.partition() or 0,
                        )
                        break
                    except BufferError:
                        producer.poll(0.05)
                count += 1
            producer.poll(0)
        if producer.flush(60):
            raise BenchError("pass-through: the producer did not flush")
        return PassThrough(count, time.perf_counter() - started, time.process_time() - cpu)
    finally:
        consumer.close()
