"""The outbox relay's loop: consume the state changelogs, publish what they hold, commit.

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

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_fixed

from streams.kafka import clients
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.relay.publish import Publish, RelayHandler
from streams.settings import Settings

log = logging.getLogger(__name__)

RELAY_HEARTBEAT_MS = 1000
COMMIT_RETRY_SECONDS = 60.0
# The group coordinator is briefly unavailable while a broker restarts or the coordinator
# moves; a commit refused for that is retried (the batch is already delivered).
COORDINATOR_BUSY = frozenset(
    {
        KafkaError._WAIT_COORD,
        KafkaError._TRANSPORT,
        KafkaError._TIMED_OUT,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.REQUEST_TIMED_OUT,
    }
)
# The partitions moved to another member: its relay publishes the batch again.
REASSIGNED = frozenset(
    {
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError._NO_OFFSET,
    }
)


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
        consumer = clients.consumer(
            self.settings,
            t.relay_group(self.settings),
            # The worker's session timeout, as for the agents' consumer: a relay that
            # died without leaving (OOM, kill -9 of the whole process group) hands its
            # changelog partitions over after it, not after librdkafka's 45 s. Frequent
            # heartbeats: the others learn of a rebalance (a worker joining or leaving)
            # within a second, not three, and the ledger stalls that much less.
            **{
                "session.timeout.ms": int(self.settings.session_timeout_seconds * 1000),
                "heartbeat.interval.ms": RELAY_HEARTBEAT_MS,
            },
        )
        producer = clients.producer(
            self.settings, "relay", self.metrics, on_delivery=self._delivered
        )
        try:
            consumer.subscribe(sorted(self.handlers))
            while not should_stop():
                # consume() waits out its timeout unless the batch fills, so under a steady
                # load the wait is part of every entry's latency: keep it short.
                batch = consumer.consume(2000, timeout=0.05)
                if batch:
                    self._relay(batch, producer)
                    commit(consumer)
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


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.warning("outbox relay: commit retried: %s", error)


def _coordinator_busy(exc: BaseException) -> bool:
    return isinstance(exc, KafkaException) and exc.args[0].code() in COORDINATOR_BUSY


def commit(consumer: Consumer, retry_seconds: float = COMMIT_RETRY_SECONDS) -> None:
    """Commit the batch just relayed. A busy coordinator (a broker restarting) is waited
    out for up to ``retry_seconds``; partitions reassigned in the meantime are not
    committed, and their new owner relays the batch again (at-least-once, docs/domain.md
    §3.7)."""
    retrying = Retrying(
        retry=retry_if_exception(_coordinator_busy),
        stop=stop_after_delay(retry_seconds),
        wait=wait_fixed(0.5),
        before_sleep=_log_retry,
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                consumer.commit(asynchronous=False)
    except KafkaException as exc:
        if exc.args[0].code() not in REASSIGNED:
            raise
        log.warning("outbox relay: commit dropped, partitions reassigned: %s", exc.args[0])
