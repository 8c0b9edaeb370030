"""The Parquet archive target: ledger entries, match and exception events as Parquet
files partitioned by topic and business date, each file committed atomically and listed
with its SHA-256 and row count, so an auditor can prove the archive complete and untouched
(``verify``).

Layout under the archive directory (``RECON_ARCHIVE_DIR``, default ``<home>/archive``)::

    <topic>/date=<YYYY-MM-DD>/p<partition>-o<first offset>.parquet
    _commits/<consumer group>/<batch id>.json

A batch writes one file per (topic, business date, partition) it holds, each to a hidden
temporary name, fsynced, then renamed; then its commit record (same way): the files with
their topic, SHA-256 and rows, and the next offset of each partition. The commit record is
the commit: a restart seeks to the offsets the records hold and first deletes every file
no record lists (what a crash left between rename and record). The business date of an
entry is the UTC date of its ``created_at``, of an event its ``event_at``. One ``recon
deliver archive`` per directory (a lock file says so).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from streams.delivery.events import event_json, state_of, subject_of
from streams.delivery.target import LEDGER_SCHEMA, Delivered, Entry, Position
from streams.errors import DeliveryError
from streams.kafka import topics as t

COMMITS = "_commits"
TMP_PREFIX = ".tmp-"
LOCK = ".lock"

SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),
        ("agreement_id", pa.string()),
        ("vendor_id", pa.string()),
        ("period", pa.string()),
        ("kind", pa.string()),
        ("amount", pa.decimal128(18, 2)),
        ("currency", pa.string()),
        ("debit_account", pa.string()),
        ("credit_account", pa.string()),
        ("measure", pa.decimal128(24, 6)),
        ("posted_total", pa.decimal128(18, 2)),
        ("source_key", pa.string()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("correlation_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("ledger_topic", pa.string()),
        ("ledger_partition", pa.int32()),
        ("ledger_offset", pa.int64()),
    ]
)
RECORD_COLUMNS = SCHEMA.names[:-3]
# Match and exception events (the matches and exceptions topics): what each is about, its
# state and order, and the whole event as JSON (docs/delivery.md).
EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("schema", pa.string()),
        ("subject_id", pa.string()),
        ("state", pa.string()),
        ("seq", pa.int64()),
        ("event_at", pa.timestamp("us", tz="UTC")),
        ("record", pa.string()),
        ("source_topic", pa.string()),
        ("source_partition", pa.int32()),
        ("source_offset", pa.int64()),
    ]
)


@dataclass(frozen=True)
class ArchivedFile:
    path: str  # relative to the archive directory
    topic: str
    rows: int
    sha256: str


def business_date(e: Entry) -> str:
    """The UTC date an entry was posted (``created_at``) or an event happened."""
    at: datetime = e.record["created_at" if e.schema == LEDGER_SCHEMA else "event_at"]
    return at.astimezone(UTC).date().isoformat()


def table_of(entries: list[Entry]) -> pa.Table:
    """The rows of one file: entries of one topic (ledger entries, or events)."""
    if entries[0].schema == LEDGER_SCHEMA:
        return pa.Table.from_pylist([row_of(e) for e in entries], schema=SCHEMA)
    return pa.Table.from_pylist([event_row_of(e) for e in entries], schema=EVENT_SCHEMA)


def event_row_of(e: Entry) -> dict[str, Any]:
    r = e.record
    return {
        "event_id": r["event_id"],
        "schema": e.schema,
        "subject_id": subject_of(e),
        "state": state_of(e),
        "seq": r["seq"],
        "event_at": r["event_at"],
        "record": event_json(e),
        "source_topic": e.topic,
        "source_partition": e.partition,
        "source_offset": e.offset,
    }


def row_of(e: Entry) -> dict[str, Any]:
    row = {c: e.record[c] for c in RECORD_COLUMNS}
    row.update(
        ledger_topic=e.topic,
        ledger_partition=e.partition,
        ledger_offset=e.offset,
    )
    return row


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """``path`` appears whole or not at all: written under a hidden name, fsynced, renamed,
    and the rename made durable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(TMP_PREFIX + path.name)
    with tmp.open("wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _put(data: bytes, f: IO[bytes]) -> None:
    f.write(data)


def commit_records(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted((root / COMMITS).glob("*/*.json")):
        if not path.name.startswith(TMP_PREFIX):  # a record being written, or a crash's
            yield path, json.loads(path.read_text())


def archived_files(root: Path) -> Iterator[Path]:
    """Every Parquet file under ``root`` (committed or not), not temporaries."""
    for path in root.rglob("*.parquet"):
        if COMMITS not in path.relative_to(root).parts and not path.name.startswith(TMP_PREFIX):
            yield path


class ArchiveTarget:
    name = "archive"
    topics: tuple[str, ...] = (t.LEDGER, t.MATCHES, t.EXCEPTIONS)
    stores_positions = True

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self._lock: IO[str] | None = None

    # --- Target --------------------------------------------------------------------------

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = (self.root / LOCK).open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DeliveryError(
                f"archive {self.root} is in use by another `recon deliver archive`"
            ) from exc
        self._sweep()

    def stored_positions(self, group: str, topic: str) -> dict[int, int]:
        found: dict[int, int] = {}
        for _, rec in commit_records(self.root):
            if rec["group"] != group:
                continue
            for p in rec["positions"]:
                if p["topic"] == topic:
                    found[p["partition"]] = max(found.get(p["partition"], 0), p["offset"])
        return found

    def deliver(
        self,
        group: str,
        entries: list[Entry],
        positions: list[Position],
        meanwhile: Callable[[], None] | None = None,
    ) -> Delivered:
        if not positions:
            return Delivered()
        cells: dict[tuple[str, str, int], list[Entry]] = defaultdict(list)
        for e in entries:
            cells[(e.topic, business_date(e), e.partition)].append(e)
        files = []
        for (topic, day, partition), cell in sorted(cells.items()):
            cell.sort(key=lambda e: e.offset)
            rel = f"{topic}/date={day}/p{partition:03d}-o{cell[0].offset:020d}.parquet"
            table = table_of(cell)
            path = self.root / rel
            write_atomically(path, partial(pq.write_table, table))
            files.append(ArchivedFile(rel, topic, table.num_rows, sha256_of(path)))
        ident = ",".join(f"{p.topic}:{p.partition}:{p.offset}" for p in positions)
        batch_id = hashlib.sha256(ident.encode()).hexdigest()[:24]
        record = {
            "group": group,
            "committed_at": datetime.now(UTC).isoformat(),
            "files": [f.__dict__ for f in files],
            "positions": [p.__dict__ for p in positions],
        }
        data = json.dumps(record, indent=1).encode()
        write_atomically(self.root / COMMITS / group / f"{batch_id}.json", partial(_put, data))
        return Delivered(accepted=len(entries))

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # --- internals -------------------------------------------------------------------------

    def _sweep(self) -> None:
        """Delete what a crash left uncommitted: temporaries, files no record lists."""
        listed = {f["path"] for _, rec in commit_records(self.root) for f in rec["files"]}
        for path in self.root.rglob(f"{TMP_PREFIX}*"):
            path.unlink()
        for path in archived_files(self.root):
            if str(path.relative_to(self.root)) not in listed:
                path.unlink()


@dataclass(frozen=True)
class Verified:
    files: int
    rows: int
    problems: list[str]


def verify(root: Path) -> Verified:
    """Every file the commit records list is there, whole (SHA-256) with its row count, and
    no other Parquet file is; the problems name each file."""
    root = root.expanduser().resolve()
    if not (root / COMMITS).is_dir():
        raise DeliveryError(f"{root} is not an archive (no {COMMITS}/)")
    listed: dict[str, dict[str, Any]] = {}
    for record_path, rec in commit_records(root):
        for f in rec["files"]:
            listed[f["path"]] = {**f, "record": record_path.name}
    problems, rows = [], 0
    for rel, f in sorted(listed.items()):
        path = root / rel
        if not path.exists():
            problems.append(f"{rel}: missing (listed by commit {f['record']})")
            continue
        digest = sha256_of(path)
        if digest != f["sha256"]:
            problems.append(f"{rel}: modified: sha256 {digest}, manifest {f['sha256']}")
            continue
        found = pq.read_metadata(path).num_rows  # as written (same SHA-256): readable
        if found != f["rows"]:
            problems.append(f"{rel}: {found} rows, manifest {f['rows']}")
        rows += f["rows"]
    for path in sorted(archived_files(root)):
        rel = str(path.relative_to(root))
        if rel not in listed:
            problems.append(f"{rel}: not in any commit record")
    return Verified(len(listed), rows, problems)
