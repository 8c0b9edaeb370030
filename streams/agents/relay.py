"""The outbox relay: publishes what the state changelogs hold to the output topics.

A state row and the output it produced are one changelog record (an outbox), so an output
topic can only ever show what the state holds, whatever crashes in between. The relay is
at-least-once: it flushes before committing, and consumers count each entry id once
(outputs are immutable: an id always carries the same content).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, Message, Producer

from streams.accrual.engine import Posting, posting_from_json
from streams.accrual.state import decode
from streams.agents.pipeline import Publish, RelayHandler
from streams.codecs import avro
from streams.ingest import headers as h
from streams.observability.metrics import Metrics
from streams.observability.producer_stats import RetryCounter
from streams.observability.tracing import child_of, seconds_since
from streams.ops import topics as t
from streams.ops.kafka_read import LIBRDKAFKA_LOG
from streams.settings import Settings

log = logging.getLogger(__name__)

RELAY_HEARTBEAT_MS = 1000
DEBIT = "rebate_receivable"
CREDIT = "cogs_vendor_rebates"


def ledger_record(p: Posting, created_at: datetime) -> bytes:
    return avro.encode(
        "ledger_entry",
        {
            "entry_id": p.entry_id,
            "agreement_id": p.agreement_id,
            "vendor_id": p.vendor_id,
            "period": p.period,
            "kind": p.kind.value,
            "amount": p.amount,
            "currency": p.currency,
            "debit_account": DEBIT,
            "credit_account": CREDIT,
            "measure": p.measure,
            "posted_total": p.posted_total,
            "source_key": p.source_key,
            "source_file": p.source_file,
            "source_line": p.source_line,
            "correlation_id": p.correlation_id,
            "created_at": created_at,
        },
    )


def message_time(msg: Message) -> datetime:
    _, ts = msg.timestamp()
    return datetime.fromtimestamp(ts / 1000, UTC)


def ledger_observer(metrics: Metrics, p: Posting) -> Callable[[], None]:
    """What to record once the entry of ``p`` is delivered."""

    def delivered() -> None:
        metrics.child(metrics.ledger_posted, p.currency).inc(float(p.amount))
        metrics.child(metrics.ledger_entries, p.currency, p.kind.value).inc()
        latency = seconds_since(p.ingested_at)
        if latency is not None:
            metrics.child(metrics.latency, "ledger").observe(latency)

    return delivered


def ledger_publishes(settings: Settings, metrics: Metrics) -> RelayHandler:
    """Posting rows (``p:`` keys) carry the ledger entries of the write in ``out``.

    Entries carry the correlation id of the record that triggered them and a traceparent
    that is a child of the agent's span (the relay is one more hop)."""
    ledger = settings.topic(t.LEDGER)

    def handle(msg: Message) -> list[Publish]:
        key, value = msg.key(), msg.value()
        if not key or not value or not key.startswith(b"p:"):
            return []
        created = message_time(msg)  # deterministic: a re-relayed entry is identical
        out = []
        for doc in decode(value).get("out", []):
            p = posting_from_json(doc)
            out.append(
                Publish(
                    ledger,
                    f"{p.agreement_id}|{p.period}".encode(),
                    ledger_record(p, created),
                    [
                        (avro.SCHEMA_HEADER, b"ledger_entry"),
                        (h.CORRELATION_ID, p.correlation_id.encode()),
                        (h.TRACEPARENT, child_of(p.traceparent, seed=p.entry_id).encode()),
                        ("recon-entry-id", p.entry_id.encode()),
                    ],
                    ledger_observer(metrics, p),
                )
            )
        return out

    return handle


class OutboxRelay:
    """Consumes the changelogs and publishes what their outboxes hold, in batches: flushed,
    then committed. Runs in a process of its own (``relay_process``)."""

    def __init__(
        self,
        settings: Settings,
        handlers: dict[str, RelayHandler],
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.handlers = handlers
        self.metrics = metrics
        self._undelivered: list[str] = []

    def run(self, should_stop: Callable[[], bool], after_batch: Callable[[], None]) -> None:
        """Relay until ``should_stop()``; raises what stopped it otherwise."""
        if not self.handlers:
            return
        consumer = Consumer(
            {
                "bootstrap.servers": self.settings.bootstrap,
                "group.id": t.relay_group(self.settings),
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # The worker's session timeout, as for the agents' consumer: a relay that
                # died without leaving (OOM, kill -9 of the whole process group) hands its
                # changelog partitions over after it, not after librdkafka's 45 s. Frequent
                # heartbeats: the others learn of a rebalance (a worker joining or leaving)
                # within a second, not three, and the ledger stalls that much less.
                "session.timeout.ms": int(self.settings.session_timeout_seconds * 1000),
                "heartbeat.interval.ms": RELAY_HEARTBEAT_MS,
                "logger": LIBRDKAFKA_LOG,
            }
        )
        producer = Producer(
            {
                "bootstrap.servers": self.settings.bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 100,  # each batch ends in a flush (see DirectOutput)
                "compression.type": "lz4",
                "on_delivery": self._delivered,
                "statistics.interval.ms": int(self.settings.metrics_interval_seconds * 1000),
                "stats_cb": RetryCounter(self.metrics, "relay"),
                "logger": LIBRDKAFKA_LOG,
            }
        )
        try:
            consumer.subscribe(sorted(self.handlers))
            while not should_stop():
                # consume() waits out its timeout unless the batch fills, so under a steady
                # load the wait is part of every entry's latency (bench p50: 224 ms with
                # 0.2 s, 148 ms with 0.05 s).
                batch = consumer.consume(2000, timeout=0.05)
                if batch:
                    self._relay(batch, producer)
                    consumer.commit(asynchronous=False)
                    after_batch()
        finally:
            consumer.close()

    def _relay(self, batch: list[Message], producer: Producer) -> None:
        started = time.perf_counter()
        published: list[Publish] = []
        consumed: Counter[str] = Counter()  # metrics once per topic, not once per message
        for msg in batch:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("outbox relay: %s", err)
                continue
            topic = msg.topic() or ""
            consumed[topic] += 1
            for pub in self.handlers[topic](msg):
                producer.produce(pub.topic, key=pub.key, value=pub.value, headers=pub.headers)
                published.append(pub)
                producer.poll(0)
        remaining = producer.flush(30)
        if remaining or self._undelivered:
            self.metrics.child(self.metrics.producer_errors, "relay").inc(
                remaining + len(self._undelivered)
            )
            # Not committing: the batch is relayed again by whoever owns the partition next.
            raise RuntimeError(
                f"outbox relay could not deliver {remaining + len(self._undelivered)} "
                f"messages: {self._undelivered[:1]}"
            )
        for topic, count in consumed.items():
            self.metrics.child(self.metrics.records_in, topic, "relay").inc(count)
        for topic, count in Counter(pub.topic for pub in published).items():
            self.metrics.child(self.metrics.records_out, topic, "relay").inc(count)
        for pub in published:
            if pub.delivered is not None:
                pub.delivered()
        self.metrics.child(self.metrics.batch_processing, "relay").observe(
            time.perf_counter() - started
        )

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._undelivered.append(str(err))
