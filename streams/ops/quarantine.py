"""Quarantine review (docs/inventory.md, "Quarantine"): the inventory rows in the DLQ, and
resubmitting a corrected row.

A resubmitted row is the quarantined row with the corrections applied, written with
exactly the manifest's columns, published to ``raw.inventory`` (keyed and partitioned by
its asset) with a new correlation id ``resubmit-<run>:<dlq_id>`` and the header
``recon-resubmits`` naming the DLQ record it corrects. It keeps the original's file,
manifest time and line, so it counts as one more row read of that file (a manifest of its
own) and gets its own outcome: the file still reconciles. The DLQ record is then marked
redriven, so `recon dlq redrive` does not publish the uncorrected row again.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams.domain.inventory.rows import COLUMNS, validate_row
from streams.domain.models.parsing import parse_columns, split_record
from streams.errors import Category, ReconError, RecordError
from streams.formats import headers as h
from streams.ingest.publishers import DeliveryTally
from streams.kafka import clients
from streams.kafka import topics as t
from streams.kafka.partitioner import partition_of
from streams.ops.dlq import dlq_records, find_dlq_record
from streams.ops.redrive import FIRST_SEEN, ensure_redriven_topic, redriven_ids
from streams.ops.replay import FileCount, Republisher, new_run_id, replace_headers
from streams.settings import Settings


class ResubmitError(ReconError):
    """A quarantined row cannot be resubmitted as asked."""


def quarantined(settings: Settings, category: str | None = None) -> list[dict[str, Any]]:
    """DLQ records of inventory rows (those read from ``raw.inventory``)."""
    topic = settings.topic(t.RAW_INVENTORY)
    return [r for r in dlq_records(settings, category) if r["source_topic"] == topic]


def fields_of(rec: dict[str, Any]) -> dict[str, str]:
    """The quarantined row's fields by column name, as far as they can be read."""
    headers = rec.get("original_headers") or {}
    try:
        columns = parse_columns(headers.get(h.COLUMNS, ""))
        values = split_record(bytes(rec["original"]), "row")
    except RecordError:
        return {}
    return dict(zip(columns, values, strict=False))


def quarantine_row(rec: dict[str, Any], redriven: bool) -> dict[str, object]:
    fields = fields_of(rec)
    return {
        "dlq_id": rec["dlq_id"],
        "category": rec["category"],
        "source_file": rec["source_file"],
        "source_line": rec["source_line"],
        "asset_id": fields.get("asset_id", ""),
        "grant_code": fields.get("grant_code", ""),
        "field": rec["field"] or "",
        "error": rec["error"],
        "resubmitted": redriven,
    }


def corrected(rec: dict[str, Any], changes: dict[str, str]) -> bytes:
    """The quarantined row with ``changes`` applied, as a CSV record of exactly COLUMNS;
    raises ResubmitError if a change names no column or the result is still invalid."""
    unknown = sorted(set(changes) - set(COLUMNS))
    if unknown:
        raise ResubmitError(f"no such column: {', '.join(unknown)} (columns: {', '.join(COLUMNS)})")
    fields = fields_of(rec) | changes
    values = [fields.get(name, "") for name in COLUMNS]
    what = f"{rec['source_file']} line {rec['source_line']} as corrected"
    try:
        validate_row(COLUMNS, values, what)
    except RecordError as err:
        raise ResubmitError(f"still quarantined: {err}") from err
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue().encode()


@dataclass(frozen=True)
class Resubmitted:
    run_id: str
    dlq_id: str
    correlation_id: str
    row: bytes
    partition: int


def resubmit(settings: Settings, dlq_id: str, changes: dict[str, str]) -> Resubmitted:
    rec = find_dlq_record(settings, dlq_id)
    topic = settings.topic(t.RAW_INVENTORY)
    if rec["source_topic"] != topic:
        raise ResubmitError(
            f"DLQ record {rec['dlq_id']} is not an inventory row ({rec['source_topic']})"
        )
    if rec["category"] == Category.OVERSIZED_RECORD:
        raise ResubmitError("an oversized row is kept truncated: fix the file and ingest it again")
    if rec["dlq_id"] in redriven_ids(settings):
        raise ResubmitError(f"DLQ record {rec['dlq_id']} was already resubmitted or redriven")
    row = corrected(rec, changes)
    fields = dict(zip(COLUMNS, split_record(row, "row"), strict=True))
    key = f"{fields['asset_id'].strip()}:{fields['grant_code'].strip().upper()}".encode()
    partitions = len(
        clients.admin_client(settings).list_topics(topic, timeout=15).topics[topic].partitions
    )
    partition = partition_of(key, partitions)
    run_id = new_run_id()
    correlation_id = f"resubmit-{run_id}:{rec['dlq_id']}"
    original = [(k, v.encode()) for k, v in (rec.get("original_headers") or {}).items()]
    headers = replace_headers(
        original,
        {
            h.CORRELATION_ID: correlation_id,
            h.COLUMNS: ",".join(COLUMNS),
            h.ATTEMPTS: str(rec["attempts"] + 1),
            FIRST_SEEN: rec["first_seen"].astimezone(UTC).isoformat(),
            h.RESUBMITS: rec["dlq_id"],
        },
    )
    run = Republisher(settings, run_id)
    file = FileCount(rec["source_file"], rec["file_sha256"], rec["record_format"], topic)
    run.publish(topic, partition, key, row, headers, file)
    run.finish("resubmit")
    _mark(settings, rec["dlq_id"], run_id, correlation_id, rec["attempts"] + 1)
    return Resubmitted(run_id, rec["dlq_id"], correlation_id, row, partition)


def _mark(settings: Settings, dlq_id: str, run_id: str, correlation_id: str, attempts: int) -> None:
    marks = ensure_redriven_topic(settings)
    producer = clients.producer(settings)
    tally = DeliveryTally()
    mark = {
        "run_id": run_id,
        "correlation_id": correlation_id,
        "attempts": attempts,
        "redriven_at": datetime.now(UTC).isoformat(),
        "resubmitted": True,
    }
    producer.produce(marks, key=dlq_id.encode(), value=json.dumps(mark).encode(), partition=0,
                     on_delivery=tally)  # fmt: skip
    if producer.flush(60) or tally.failed:
        raise ResubmitError(
            f"row resubmitted as {correlation_id}, but DLQ record {dlq_id} not marked: "
            f"{tally.first_error or 'flush timed out'} (do not redrive it)"
        )
