"""What ingest asks the cluster before it publishes (do the topics exist, how large may a
record be), asked so that a broker restart is waited out rather than failed: librdkafka
answers "transport failure" at once while a broker restarts, and a feed must ride a
restart of a few seconds out like the producer does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import KafkaException
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from streams.errors import KafkaOperationError
from streams.formats.csv_source import IngestError
from streams.kafka import clients
from streams.settings import Settings

# How long ingest keeps asking an unreachable cluster before giving up.
REACH_SECONDS = 30.0

T = TypeVar("T")


def _unreachable(exc: BaseException) -> bool:
    return isinstance(exc, KafkaException) or (
        isinstance(exc, KafkaOperationError) and isinstance(exc.__cause__, KafkaException)
    )


def reaching(settings: Settings, request: Callable[[], T]) -> T:
    """The answer to a metadata request, retried for REACH_SECONDS while the broker cannot
    answer: an ingest started during a broker restart waits it out instead of failing."""
    retrying = Retrying(
        retry=retry_if_exception(_unreachable),
        stop=stop_after_delay(REACH_SECONDS),
        wait=wait_fixed(1.0),
        reraise=True,
    )
    try:
        return retrying(request)
    except (KafkaException, KafkaOperationError) as exc:
        if not _unreachable(exc):
            raise
        raise IngestError(
            f"cannot reach Kafka at {settings.bootstrap} (tried for {REACH_SECONDS:g} s): {exc}"
        ) from exc


def require_topics(settings: Settings, *names: str, co_partitioned: str | None = None) -> int:
    """Fail unless every topic exists (ingest must not auto-create them), and unless
    ``names[0]`` has as many partitions as ``co_partitioned`` (when that one exists);
    return the partition count of ``names[0]``."""
    admin = clients.admin_client(settings)
    existing = reaching(settings, lambda: admin.list_topics(timeout=15).topics)
    missing = [name for name in names if name not in existing]
    if missing:
        raise IngestError(
            f"topic(s) {', '.join(missing)} do not exist: run `recon topics create` first"
        )
    if co_partitioned in existing:
        ours, theirs = len(existing[names[0]].partitions), len(existing[co_partitioned].partitions)
        if ours != theirs:
            raise IngestError(
                f"{names[0]} has {ours} partitions but {co_partitioned} has {theirs}: "
                "records that belong together would land on different partitions"
            )
    return len(existing[names[0]].partitions)
