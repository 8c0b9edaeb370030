"""The completeness audit (docs/domain.md §1.1): per source file, read = applied + duplicate +
dead_lettered. 'read' comes from the ingest manifests, the outcomes from the worker (one
per correlation id, the latest decision wins; a chunk's records' outcomes come in one
message), so a record lost between them shows as pending."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from streams.formats import avro
from streams.formats import headers as h
from streams.formats.records import outcomes_of
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

COLUMNS = ("source_file", "file_sha256", "read", "applied", "duplicate", "dead_lettered")


@dataclass
class FileAudit:
    source_file: str
    file_sha256: str
    read: int = 0
    applied: int = 0
    duplicate: int = 0
    dead_lettered: int = 0

    @property
    def decided(self) -> int:
        return self.applied + self.duplicate + self.dead_lettered

    @property
    def reconciles(self) -> bool:
        return self.read == self.decided

    def as_row(self) -> dict[str, object]:
        """The COLUMNS, then ``pending`` (read - decided) and ``reconciles``."""
        row: dict[str, object] = {name: getattr(self, name) for name in COLUMNS}
        return row | {"pending": self.read - self.decided, "reconciles": self.reconciles}


def audit(settings: Settings) -> list[FileAudit]:
    files: dict[tuple[str, str], FileAudit] = {}

    def row(name: str, sha: str) -> FileAudit:
        return files.setdefault((name, sha), FileAudit(name, sha))

    manifests = {}
    for msg in read_topic(settings, settings.topic(t.MANIFESTS)):
        m = avro.decode("ingest_manifest", msg.value() or b"")
        manifests[m["run_id"]] = m  # compacted topic: last write per run wins
    for m in manifests.values():
        row(m["source_file"], m["file_sha256"]).read += m["rows_read"]

    # Per record the latest decision wins: a redriven record's outcome replaces the one
    # its first attempt got (in a chunk's outcome record, on another key).
    outcomes: dict[str, tuple[datetime, str, str, str]] = {}
    for msg in read_topic(settings, settings.topic(t.OUTCOMES)):
        schema = h.to_dict(cast("list[tuple[str, bytes | None]]", msg.headers())).get(
            avro.SCHEMA_HEADER
        )
        for o in outcomes_of(msg.value() or b"", schema):
            known = outcomes.get(o["correlation_id"])
            if known is None or o["decided_at"] >= known[0]:
                outcomes[o["correlation_id"]] = (
                    o["decided_at"],
                    o["source_file"],
                    o["file_sha256"],
                    o["outcome"],
                )
    for _, name, sha, outcome in outcomes.values():
        r = row(name, sha)
        setattr(r, outcome, getattr(r, outcome) + 1)
    return sorted(files.values(), key=lambda r: (r.source_file, r.file_sha256))


def write_audit(rows: list[FileAudit], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow(
                [r.source_file, r.file_sha256, r.read, r.applied, r.duplicate, r.dead_lettered]
            )
