"""The delivery loop: poll a batch of the target's topics, deliver it, dead-letter what the
target refused, flush, then commit; the same order as the worker's sequence
(docs/design.md): nothing is committed before the target has it.

A target that is down (TargetUnavailable: its breaker open, its database unreachable) is
not skipped past: the batch is held, the consumer's partitions are paused (lag grows, the
breaker metric says why), and the same batch is offered again after the cool-down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from streams.delivery.breaker import Breaker
from streams.delivery.target import (
    LEDGER_SCHEMA,
    NO_READERS,
    TOPIC_SCHEMAS,
    Delivered,
    Entry,
    Position,
    Readers,
    Target,
    TargetUnavailable,
    entry_of,
)
from streams.errors import DeliveryError, RecordError
from streams.formats.records import dead_letter_message
from streams.kafka import clients
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger(__name__)

MIN_RETRY_SECONDS = 0.2  # between attempts on a target that failed with its breaker closed
DLQ_FLUSH_SECONDS = 60.0


def delivery_group(settings: Settings, target: str) -> str:
    """The consumer group of one target: each target reads the ledger at its own pace."""
    return f"{settings.app_id}-deliver-{target}"


@dataclass
class Batch:
    entries: list[Entry] = field(default_factory=list)
    undecodable: list[tuple[Entry, RecordError]] = field(default_factory=list)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def positions(self) -> list[Position]:
        return [Position(tp[0], tp[1], off) for tp, off in sorted(self.next_offsets.items())]

    def without(self, partitions: set[tuple[str, int]]) -> Batch:
        """The batch less what was read from ``partitions`` (revoked: their new owner reads
        them again from the last commit)."""

        def kept(e: Entry) -> bool:
            return (e.topic, e.partition) not in partitions

        return Batch(
            [e for e in self.entries if kept(e)],
            [(e, err) for e, err in self.undecodable if kept(e)],
            {tp: o for tp, o in self.next_offsets.items() if tp not in partitions},
        )


def batch_of(
    messages: list[Message],
    schemas: dict[str, str | None] | None = None,
    readers: Readers = NO_READERS,
) -> Batch:
    """The batch of ``messages``, each decoded with its topic's schema (``schemas``, real
    topic name -> schema; default: every message a ledger entry), by the target's own
    reader of that schema if ``readers`` has one."""
    batch = Batch()
    for msg in messages:
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                continue
            if err.fatal():
                raise DeliveryError(f"consumer failed: {err}")
            log.warning("delivery consumer: %s", err)
            continue
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        batch.next_offsets[(topic, partition)] = offset + 1
        schema = schemas[topic] if schemas is not None else LEDGER_SCHEMA
        read = readers.get(schema) if schema is not None else None
        if read is not None and schema is not None:
            # The target's own reader, without entry_of's second look at the message (a
            # few µs an entry); a body it cannot read goes through entry_of for its error.
            try:
                record = read(msg.value() or b"")
            except Exception:  # entry_of raises it again, as a RecordError
                pass
            else:
                batch.entries.append(Entry(topic, partition, offset, record, msg, schema))
                continue
        try:
            batch.entries.append(entry_of(msg, schema, readers))
        except RecordError as exc:
            batch.undecodable.append((Entry(topic, partition, offset, {}, msg), exc))
    return batch


class DeliveryLoop:
    def __init__(
        self, settings: Settings, target: Target, breaker: Breaker, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.target = target
        self.breaker = breaker
        self.metrics = metrics
        self.group = delivery_group(settings, target.name)
        self.schemas = {settings.topic(n): TOPIC_SCHEMAS[n] for n in target.topics}
        self.dlq_topic = settings.topic(t.DLQ)
        # A target may read some schemas its own way (Target: optional ``readers``).
        self.readers: Readers = getattr(target, "readers", NO_READERS)
        self._holding = False  # a batch is held for a target that is down: keep paused
        self._revoked: set[tuple[str, int]] = set()

    # --- the loop ------------------------------------------------------------------------

    def run(self, should_stop: Callable[[], bool], after_batch: Callable[[], None]) -> None:
        """Deliver until ``should_stop()``. A stop while the target is down leaves the held
        batch uncommitted (the next start delivers it)."""
        if not self._start_target(should_stop):
            return
        consumer = clients.consumer(
            self.settings,
            self.group,
            **{"session.timeout.ms": int(self.settings.session_timeout_seconds * 1000)},
        )
        producer = clients.producer(self.settings, "operator")
        try:
            consumer.subscribe(
                sorted(self.schemas), on_assign=self._on_assign, on_revoke=self._on_revoke
            )
            # The next batch is fetched before a batch is delivered and decoded while the
            # target's server works on it (``meanwhile``): decoding is the loop's largest
            # cost and the database's insert its second, so the two overlap. The consumer
            # is never called while a transaction is open (its rebalance callbacks read
            # the target's positions).
            pending: Batch | None = None  # decoded, its undecodable dead-lettered
            started = 0.0
            while not should_stop():
                if pending is None:
                    messages = self._consume(consumer, self.settings.deliver_poll_seconds)
                    if not messages:
                        continue
                    started = time.perf_counter()
                    self._revoked.clear()
                    pending = self._dead_lettered(
                        producer, batch_of(messages, self.schemas, self.readers)
                    )
                # What is already fetched, without waiting: an idle topic delays nothing.
                following = _Later(self._decode, self._consume(consumer, 0))
                if self._revoked:
                    pending = pending.without(self._revoked)
                    self._revoked.clear()
                done = self._deliver(consumer, pending, should_stop, following)
                if done is None:
                    return
                batch, delivered = done
                self._dead_letter(producer, delivered.rejected)
                self._commit(consumer, batch)
                self._record(delivered, started)
                after_batch()
                pending, started = following.result(), time.perf_counter()
                if pending is not None:
                    if self._revoked:  # revoked while the target was down (_deliver)
                        pending = pending.without(self._revoked)
                    self._revoked.clear()
                    pending = self._dead_lettered(producer, pending)
        finally:
            consumer.close()
            self.target.close()

    def _consume(self, consumer: Consumer, timeout: float) -> list[Message]:
        return consumer.consume(self.settings.deliver_batch_max, timeout=timeout)

    def _decode(self, messages: list[Message]) -> Batch | None:
        return batch_of(messages, self.schemas, self.readers) if messages else None

    def _dead_lettered(self, producer: Producer, batch: Batch) -> Batch:
        """``batch`` once its undecodable messages are in the DLQ: before the target stores
        offsets past them, so a DLQ record is never lost."""
        if batch.undecodable:
            self._dead_letter(producer, batch.undecodable)
        return batch

    def _start_target(self, should_stop: Callable[[], bool]) -> bool:
        while not should_stop():
            try:
                self.target.start()
                return True
            except TargetUnavailable as exc:
                log.warning(
                    "delivery to %s: target unavailable at start: %s", self.target.name, exc
                )
                _sleep_unless(should_stop, max(self.breaker.cool_down_left(), MIN_RETRY_SECONDS))
        return False

    def _deliver(
        self,
        consumer: Consumer,
        batch: Batch,
        should_stop: Callable[[], bool],
        meanwhile: _Later | None = None,
    ) -> tuple[Batch, Delivered] | None:
        """Offer ``batch`` until the target takes it; None if stopped meanwhile.
        ``meanwhile`` is run by the target while it waits, or here after it."""
        try:
            while True:
                try:
                    if meanwhile is None:
                        delivered = self.target.deliver(self.group, batch.entries, batch.positions)
                    else:
                        delivered = self.target.deliver(
                            self.group, batch.entries, batch.positions, meanwhile
                        )
                        meanwhile()
                    return batch, delivered
                except TargetUnavailable as exc:
                    if not self._holding:
                        self._holding = True
                        consumer.pause(consumer.assignment())
                        log.warning(
                            "delivery to %s paused (%d entries held): %s",
                            self.target.name,
                            len(batch.entries),
                            exc,
                        )
                wait = max(self.breaker.cool_down_left(), MIN_RETRY_SECONDS)
                deadline = time.monotonic() + wait
                while (left := deadline - time.monotonic()) > 0:
                    if should_stop():
                        return None
                    # Paused: this only serves the group (heartbeats, rebalances).
                    self._rewind(consumer, consumer.consume(100, timeout=min(0.5, left)))
                if self._revoked:
                    batch = batch.without(self._revoked)
        finally:
            if self._holding:
                self._holding = False
                consumer.resume(consumer.assignment())
                log.warning("delivery to %s resumed", self.target.name)

    # --- group callbacks -------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        stored: dict[tuple[str, int], int] = {}
        try:
            for topic in sorted({tp.topic for tp in partitions}):
                for partition, offset in self.target.stored_positions(self.group, topic).items():
                    stored[(topic, partition)] = offset
        except TargetUnavailable as exc:
            # The group's commits follow the target's own (commit after delivery): starting
            # there delivers again what the target may have, which it takes as replays.
            log.warning("delivery to %s: stored offsets unavailable (%s)", self.target.name, exc)
            stored = {}
        for tp in partitions:
            if (tp.topic, tp.partition) in stored:
                tp.offset = stored[(tp.topic, tp.partition)]
        consumer.assign(partitions)
        if self._holding:
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._revoked.update((tp.topic, tp.partition) for tp in partitions)

    def _rewind(self, consumer: Consumer, strays: list[Message]) -> None:
        """Messages fetched while paused (a partition assigned between assign and pause)
        are read again later, not dropped."""
        first: dict[tuple[str, int], int] = {}
        for msg in strays:
            if msg.error() is None:
                first.setdefault((msg.topic() or "", msg.partition() or 0), msg.offset() or 0)
        for (topic, partition), offset in first.items():
            consumer.seek(TopicPartition(topic, partition, offset))
        if first:
            consumer.pause(consumer.assignment())

    # --- after delivery -------------------------------------------------------------------

    def _dead_letter(self, producer: Producer, rejected: list[tuple[Entry, RecordError]]) -> None:
        if not rejected:
            return
        failures: list[str] = []

        def report(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                failures.append(str(err))

        for entry, error in rejected:
            key, value, headers = dead_letter_message(entry.source(), error)
            kafka_headers = cast("list[tuple[str, str | bytes | None]]", headers)
            producer.produce(
                self.dlq_topic, key=key, value=value, headers=kafka_headers, on_delivery=report
            )
            producer.poll(0)
            self.metrics.child(
                self.metrics.delivery_failed, self.target.name, error.category.value
            ).inc()
            self.metrics.child(
                self.metrics.dlq_records, error.category.value, error.stage.value
            ).inc()
        if producer.flush(DLQ_FLUSH_SECONDS) or failures:
            raise DeliveryError(
                f"delivery to {self.target.name}: {len(rejected)} DLQ records not all "
                f"delivered ({failures[:1] or 'flush timed out'}); nothing committed"
            )

    def _commit(self, consumer: Consumer, batch: Batch) -> None:
        offsets = [TopicPartition(p.topic, p.partition, p.offset) for p in batch.positions]
        if not offsets:
            return
        try:
            if self.target.stores_positions:
                consumer.commit(offsets=offsets, asynchronous=True)
            else:
                consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # A rebalance took the partitions: their new owner delivers the batch again and
            # the target takes it as a replay.
            log.warning("delivery to %s: commit failed: %s", self.target.name, exc)
            return
        for tp in offsets:
            _low, high = consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0:
                self.metrics.child(
                    self.metrics.consumer_lag, self.group, tp.topic, str(tp.partition)
                ).set(max(0, high - tp.offset))
            self.metrics.child(
                self.metrics.committed_offset, self.group, tp.topic, str(tp.partition)
            ).set(tp.offset)

    def _record(self, delivered: Delivered, started: float) -> None:
        name = self.target.name
        self.metrics.child(self.metrics.delivered, name).inc(delivered.accepted)
        self.metrics.child(self.metrics.delivery_batch, name).observe(time.perf_counter() - started)


class _Later:
    """``work(arg)`` run once, by whoever calls first (the target while it waits on its
    server, or the loop after); what it raised is raised by ``result()``, in the loop,
    never inside the target's transaction."""

    def __init__(self, work: Callable[[list[Message]], Batch | None], arg: list[Message]):
        self._work, self._arg = work, arg
        self._done = False
        self._result: Batch | None = None
        self._error: BaseException | None = None

    def __call__(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._result = self._work(self._arg)
        except Exception as exc:  # a fatal consumer error, raised by result()
            self._error = exc

    def result(self) -> Batch | None:
        self()
        if self._error is not None:
            raise self._error
        return self._result


def _sleep_unless(should_stop: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.2, left))
