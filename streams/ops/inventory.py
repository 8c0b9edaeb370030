"""Reading the inventory back: the current inventory (the compacted ``inventory`` topic)
and the batch audit of manifest chunks (docs/inventory.md, "Batch audit").

The audit is computed from what the topics hold: the ingest manifests of inventory runs,
their rows on ``raw.inventory`` (as published: CSV text, the file's columns, the manifest
time) and the outcomes. Each chunk of ``RECON_INVENTORY_CHUNK_ROWS`` data rows gets the
SHA-256 of its normalised payload (streams.domain.inventory.audit) and its counts; the
same hashes come from the file alone (``file_chunk_hashes``, `recon inventory hash`), so
an auditor can prove a manifest version was processed as submitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from streams.domain.inventory.audit import ChunkHash, chunk_hashes
from streams.domain.inventory.rows import InventoryRow, validate_row
from streams.domain.models.parsing import parse_columns, split_record
from streams.errors import KafkaOperationError, RecordError
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.csv_source import CsvRecords
from streams.formats.records import outcomes_of
from streams.formats.xlsx_source import XlsxRecords
from streams.ingest.publishers import DeliveryTally, produce
from streams.kafka import clients
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

INVENTORY_FORMATS = ("inventory-csv", "inventory-xlsx")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ROW_FIELDS = ("asset_id", "grant_code", "category", "quantity", "location", "acquisition_date")


def current_inventory(settings: Settings) -> dict[str, dict[str, Any]]:
    """asset_key -> its current version (the latest event per key of ``inventory``)."""
    found: dict[str, dict[str, Any]] = {}
    for msg in read_topic(settings, settings.topic(t.INVENTORY)):
        if msg.value() is None:
            continue
        event = avro.decode("inventory_event", msg.value() or b"")
        found[event["asset_key"]] = event  # per partition in offset order: the last wins
    return dict(sorted(found.items()))


def inventory_rows(settings: Settings) -> list[dict[str, Any]]:
    """The current inventory as flat rows (the manifest's columns, then its version)."""
    return [
        {
            **{name: e[name] for name in ROW_FIELDS},
            "acquisition_date": e["acquisition_date"].isoformat(),
            "content_hash": e["content_hash"],
            "manifest_at": e["manifest_at"].isoformat(),
        }
        for e in current_inventory(settings).values()
    ]


def normalised(columns: list[str], raw: bytes) -> InventoryRow | None:
    """The valid row of ``raw`` (a manifest's CSV record), or None if it is quarantined."""
    try:
        return validate_row(columns, split_record(raw, "row"), "row")
    except RecordError:
        return None


def file_chunk_hashes(path: Path, chunk_rows: int) -> list[ChunkHash]:
    """The chunk hashes of a manifest file, computed from the file alone."""
    source = XlsxRecords(path) if path.suffix.lower() == ".xlsx" else CsvRecords(path)
    with source:
        columns = source.columns
        rows = ((normalised(columns, r.raw), r.raw.decode("utf-8", "replace")) for r in source)
        return list(chunk_hashes(rows, chunk_rows))


@dataclass
class RunRows:
    """One inventory ingest run as the topics hold it."""

    manifest: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    manifest_at: str = ""
    rows: dict[int, tuple[bytes, str]] = field(default_factory=dict)  # line -> (raw, cid)


def _runs(settings: Settings) -> dict[str, RunRows]:
    runs: dict[str, RunRows] = {}
    for msg in read_topic(settings, settings.topic(t.MANIFESTS)):
        m = avro.decode("ingest_manifest", msg.value() or b"")
        if m["record_format"] in INVENTORY_FORMATS:  # a redrive or resubmit run has no
            runs[m["run_id"]] = RunRows(m)  # rows of its own id: it yields no chunk
    if not runs:
        return runs
    for msg in read_topic(settings, settings.topic(t.RAW_INVENTORY)):
        headers = h.to_dict(cast("list[tuple[str, bytes | None]]", msg.headers()))
        run = runs.get(headers.get(h.RUN_ID, ""))
        cid = headers.get(h.CORRELATION_ID, "")
        if run is None or not cid.startswith(f"{run.manifest['run_id']}:"):
            continue  # a replayed, redriven or resubmitted copy: not the manifest as sent
        if not run.columns:
            try:
                run.columns = parse_columns(headers.get(h.COLUMNS, ""))
            except RecordError:
                run.columns = [headers.get(h.COLUMNS, "")]
            run.manifest_at = headers.get(h.MANIFEST_AT, "")
        run.rows[int(headers.get(h.LINE, "0"))] = (msg.value() or b"", cid)
    return runs


def _outcomes(settings: Settings) -> dict[str, tuple[datetime, str]]:
    found: dict[str, tuple[datetime, str]] = {}
    for msg in read_topic(settings, settings.topic(t.OUTCOMES)):
        schema = h.to_dict(cast("list[tuple[str, bytes | None]]", msg.headers())).get(
            avro.SCHEMA_HEADER
        )
        for o in outcomes_of(msg.value() or b"", schema):
            if o["record_format"] not in INVENTORY_FORMATS:
                continue
            known = found.get(o["correlation_id"])
            if known is None or o["decided_at"] >= known[0]:
                found[o["correlation_id"]] = (o["decided_at"], o["outcome"])
    return found


def inventory_audit(settings: Settings) -> list[dict[str, Any]]:
    """One audit record (schema ``inventory_audit``) per chunk of every inventory ingest
    run, in run and chunk order."""
    size = settings.inventory_chunk_rows
    outcomes = _outcomes(settings)
    records: list[dict[str, Any]] = []
    for run in sorted(_runs(settings).values(), key=lambda r: r.manifest["started_at"]):
        m = run.manifest
        lines = sorted(run.rows)
        rows = [
            (
                normalised(run.columns, run.rows[line][0]),
                run.rows[line][0].decode("utf-8", "replace"),
            )
            for line in lines
        ]
        try:
            at = datetime.fromisoformat(run.manifest_at)
        except ValueError:
            at = EPOCH
        for chunk in chunk_hashes(rows, size):
            counts = {"applied": 0, "duplicate": 0, "dead_lettered": 0, "pending": 0}
            decided: list[datetime] = []
            for n in range(chunk.first_row, chunk.last_row + 1):
                decision = outcomes.get(run.rows[lines[n - 1]][1])
                if decision is None:
                    counts["pending"] += 1
                else:
                    counts[decision[1]] += 1
                    decided.append(decision[0])
            records.append(
                {
                    "run_id": m["run_id"],
                    "source_file": m["source_file"],
                    "file_sha256": m["file_sha256"],
                    "chunk": chunk.index,
                    "first_row": chunk.first_row,
                    "last_row": chunk.last_row,
                    "chunk_sha256": chunk.sha256,
                    "rows": chunk.last_row - chunk.first_row + 1,
                    "committed": counts["applied"],
                    "duplicate": counts["duplicate"],
                    "quarantined": counts["dead_lettered"],
                    "pending": counts["pending"],
                    "manifest_at": at,
                    "processed_at": None if counts["pending"] else max(decided, default=None),
                }
            )
    return records


def publish_audit(settings: Settings, records: list[dict[str, Any]]) -> None:
    """Publish the audit records to ``inventory.audit`` (compacted, key run:chunk)."""
    producer = clients.producer(settings)
    tally = DeliveryTally()
    topic = settings.topic(t.INVENTORY_AUDIT)
    for rec in records:
        key = f"{rec['run_id']}:{rec['chunk']}".encode()
        headers = [(avro.SCHEMA_HEADER, b"inventory_audit")]
        produce(producer, topic, key, avro.encode("inventory_audit", rec), headers, tally)
    if producer.flush(60) or tally.failed:
        raise KafkaOperationError(
            f"inventory audit: not every record reached {topic}: {tally.first_error}"
        )


def json_line(rec: dict[str, Any]) -> str:
    """An audit record as one line of JSON (times ISO 8601 UTC, keys in schema order)."""
    return json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in rec.items()},
        separators=(",", ":"),
    )


def write_audit(records: list[dict[str, Any]], out: IO[str]) -> None:
    for rec in records:
        out.write(json_line(rec) + "\n")
