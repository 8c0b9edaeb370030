"""`recon dlq redrive`: re-publish dead-lettered records to their source topic.

A redriven record is the DLQ record's original bytes, key and headers, published to its
original topic and partition with:

- a new correlation id ``redrive-<run>:<dlq_id>``, so the worker decides it afresh and
  publishes its own outcome (one ingest manifest per source file counts it as a read);
- ``recon-attempts`` = attempts + 1, so if it fails again it comes back to the DLQ as a
  new DLQ record (its dlq_id hashes the new position and attempt) with attempts + 1;
- ``recon-first-seen`` = the original first_seen, which the DLQ keeps on the new record.

A delivery dead letter (stage ``sink``: a ledger entry a target refused or could not take)
goes back to the ledger topic, where the delivery consumers read it again; it is not
counted in any manifest, since no worker decides it (docs/delivery.md).

Each DLQ record is redriven at most once: once its redriven copy is delivered, its dlq_id
is marked in the small compacted topic ``<prefix>.dlq.redriven`` (key dlq_id), and a
redrive skips marked ids. A failed redrive run (crash between delivery and mark) may
redrive a record again on the next run: harmless, it is then a duplicate or dead-lettered
again, and the audit still reconciles (the manifests count it).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from streams.errors import Category, KafkaOperationError, Stage
from streams.formats import headers as h
from streams.ingest.publishers import DeliveryTally
from streams.kafka import clients
from streams.kafka.clients import admin_client
from streams.kafka.read import read_topic
from streams.ops.dlq import dlq_records, find_dlq_record
from streams.ops.replay import FileCount, Republisher, new_run_id, replace_headers
from streams.settings import Settings

REDRIVEN = "dlq.redriven"  # logical name of the compacted topic of redriven dlq_ids
FIRST_SEEN = "recon-first-seen"  # honoured by the worker for the DLQ record's first_seen
REDRIVEN_FROM = "recon-redriven-from"  # the dlq_id a redriven record came from
# An oversized record's DLQ record holds only its first few KB: redriving them would
# publish a truncated record. The fix is in the file, ingested again.
NOT_REDRIVABLE = frozenset({Category.OVERSIZED_RECORD.value})


def redriven_topic(settings: Settings) -> str:
    return settings.topic(REDRIVEN)


def ensure_redriven_topic(settings: Settings, timeout: float = 30.0) -> str:
    """Create ``<prefix>.dlq.redriven`` (compacted) unless it exists; return its name."""
    name = redriven_topic(settings)
    admin = admin_client(settings)
    if name in admin.list_topics(timeout=timeout).topics:
        return name
    spec = NewTopic(
        name,
        num_partitions=1,
        replication_factor=settings.replication_factor,
        config={"cleanup.policy": "compact"},
    )
    for future in admin.create_topics([spec], operation_timeout=timeout).values():
        try:
            future.result()
        except KafkaException as exc:
            if not (exc.args and exc.args[0].code() == 36):  # TOPIC_ALREADY_EXISTS: a race
                raise KafkaOperationError(f"cannot create topic {name}: {exc}") from exc
    return name


def redriven_ids(settings: Settings) -> dict[str, dict[str, Any]]:
    """dlq_id -> how it was redriven (run id, new correlation id, when)."""
    with contextlib.suppress(KafkaOperationError):  # no topic yet: nothing redriven
        return {
            (msg.key() or b"").decode(): json.loads(msg.value() or b"{}")
            for msg in read_topic(settings, redriven_topic(settings))
        }
    return {}


def select(
    settings: Settings, *, category: str | None = None, dlq_id: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """DLQ records to redrive, and how many were skipped: redriven before, or not
    redrivable (NOT_REDRIVABLE)."""
    if dlq_id is not None:
        candidates = [find_dlq_record(settings, dlq_id)]
        if category is not None and candidates[0]["category"] != category:
            candidates = []
    else:
        candidates = list(dlq_records(settings, category))
    done = redriven_ids(settings)
    todo = [
        r for r in candidates if r["dlq_id"] not in done and r["category"] not in NOT_REDRIVABLE
    ]
    return todo, len(candidates) - len(todo)


def redrive_headers(rec: dict[str, Any], correlation_id: str) -> list[tuple[str, bytes | None]]:
    original = [(k, v.encode()) for k, v in (rec.get("original_headers") or {}).items()]
    first_seen: datetime = rec["first_seen"]
    return replace_headers(
        original,
        {
            h.CORRELATION_ID: correlation_id,
            h.ATTEMPTS: str(rec["attempts"] + 1),
            FIRST_SEEN: first_seen.astimezone(UTC).isoformat(),
            REDRIVEN_FROM: rec["dlq_id"],
        },
    )


@dataclass(frozen=True)
class RedriveResult:
    run_id: str
    redriven: list[dict[str, Any]]
    skipped: int
    files: list[FileCount]
    dry_run: bool


def redrive(
    settings: Settings,
    *,
    category: str | None = None,
    dlq_id: str | None = None,
    dry_run: bool = False,
) -> RedriveResult:
    """Redrive the DLQ records of ``category`` (or the one ``dlq_id``; or all)."""
    run_id = new_run_id()
    todo, skipped = select(settings, category=category, dlq_id=dlq_id)
    if dry_run or not todo:
        return RedriveResult(run_id, todo, skipped, [], dry_run)
    marks_topic = ensure_redriven_topic(settings)
    run = Republisher(settings, run_id)
    for rec in sorted(todo, key=lambda r: (r["source_topic"], r["source_partition"])):
        correlation_id = f"redrive-{run_id}:{rec['dlq_id']}"
        run.publish(
            rec["source_topic"],
            rec["source_partition"],
            None if rec["original_key"] is None else bytes(rec["original_key"]),
            bytes(rec["original"]),
            redrive_headers(rec, correlation_id),
            # A delivery dead letter (stage sink) goes back to the ledger topic, which no
            # worker decides: no outcome will follow, so no manifest may count it as read.
            None
            if rec["stage"] == Stage.SINK
            else FileCount(
                rec["source_file"], rec["file_sha256"], rec["record_format"], rec["source_topic"]
            ),
        )
    files = run.finish("redrive")  # raises unless every record and manifest was delivered
    _mark(settings, marks_topic, run_id, todo)
    return RedriveResult(run_id, todo, skipped, files, dry_run)


def _mark(settings: Settings, topic: str, run_id: str, done: list[dict[str, Any]]) -> None:
    producer = clients.producer(settings)
    tally = DeliveryTally()
    at = datetime.now(UTC).isoformat()
    for rec in done:
        mark = {
            "run_id": run_id,
            "correlation_id": f"redrive-{run_id}:{rec['dlq_id']}",
            "attempts": rec["attempts"] + 1,
            "redriven_at": at,
        }
        producer.produce(
            topic,
            key=rec["dlq_id"].encode(),
            value=json.dumps(mark).encode(),
            partition=0,
            on_delivery=tally,
        )
        producer.poll(0)
    if producer.flush(60) or tally.failed:
        raise KafkaOperationError(
            f"redrive run {run_id}: records redriven, but not all marked in {topic} "
            f"({tally.first_error or 'flush timed out'}): a later redrive may repeat them "
            "(harmless: they are duplicates or dead-lettered again)"
        )
