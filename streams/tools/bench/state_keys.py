"""A worker holding millions of idempotency keys: the worker memory target.

Processing 10 million distinct lines would take the worker hours, so the keys are
written to the state table's changelog as dedupe marks in the engine's own format
(``d:<sha256>`` -> ``{"o": record id, "day": ...}``), spread over its partitions. The
worker then restores them the way a restarted worker restores its table, and processes
the end-to-end feed with them in its store: every sale's mark is looked up among them.
"""

from __future__ import annotations

import hashlib

from streams.domain.accrual.horizon import MARK_DAY
from streams.domain.accrual.keys import dedupe_key
from streams.domain.state import encode
from streams.ingest.publishers import DeliveryTally, produce
from streams.kafka import clients
from streams.kafka import topics as t
from streams.settings import Settings
from streams.tools.bench.procs import BenchError


def preload_marks(settings: Settings, keys: int) -> None:
    """``keys`` distinct dedupe marks on the state changelog (its topic must exist)."""
    topic = t.changelog_topic(settings, t.STATE_TABLE)
    producer = clients.producer(settings, "ingest")
    tally = DeliveryTally()
    for n in range(keys):
        idem = hashlib.sha256(f"preloaded:{n}".encode()).hexdigest()
        value = encode({"o": f"preload:{n}", MARK_DAY: "2026-01-01"})
        key = dedupe_key(idem).encode()
        produce(producer, topic, key, value, [], tally, partition=n % settings.partitions)
    if producer.flush(300) or tally.failed:
        raise BenchError(f"preloading {keys:,} dedupe marks failed: {tally.first_error}")
