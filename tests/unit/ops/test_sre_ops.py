"""SRE helpers without a broker: escaping, header rewrites, topic names, time parsing,
and the refusal to drop local state while a worker holds it."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Message

from streams.cli.sre import parse_time
from streams.domain.matching.messages import Tick
from streams.errors import ConfigError
from streams.formats import headers as h
from streams.formats import ticks
from streams.ops.dlq import describe, escape_bytes
from streams.ops.group import WORKER_LOCK, GroupError, rebuild_state
from streams.ops.redrive import FIRST_SEEN, REDRIVEN_FROM, redrive_headers
from streams.ops.replay import ReplayError, replace_headers, replayable, resolve_raw_topic
from streams.settings import Settings

pytestmark = pytest.mark.unit


def test_escape_bytes_keeps_text_and_escapes_the_rest() -> None:
    assert escape_bytes(b"T1,1,caf\xc3\xa9,2.50") == "T1,1,café,2.50"
    assert escape_bytes(b"a\tb\r\n") == "a\\tb\\r\\n"
    assert escape_bytes(b"2.5\xff,\x00x") == "2.5\\xff,\\x00x"
    assert escape_bytes(b"back\\slash") == "back\\\\slash"
    assert escape_bytes("zero\u200bwidth".encode()) == "zero\\u200bwidth"


def dlq_rec(**over: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "dlq_id": "abc123",
        "category": "invalid_value",
        "severity": "error",
        "stage": "validate",
        "error": "pos.csv line 3: bad",
        "field": None,
        "source_topic": "recon.raw.pos",
        "source_partition": 2,
        "source_offset": 7,
        "source_file": "pos.csv",
        "source_line": 3,
        "file_sha256": "f" * 64,
        "record_format": "pos-csv",
        "correlation_id": "run1:3",
        "first_seen": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        "attempts": 1,
        "original": b"T1,1,\xff",
        "original_key": b"V1",
        "original_headers": {
            h.CORRELATION_ID: "run1:3",
            h.SOURCE_FILE: "pos.csv",
            h.LINE: "3",
        },
    }
    rec.update(over)
    return rec


def test_describe_shows_every_field_bytes_and_headers() -> None:
    rows = dict(describe(dlq_rec()))
    assert rows["original"] == "T1,1,\\xff" and rows["original_key"] == "V1"
    assert rows["field"] == "-" and rows["first_seen"] == "2026-03-01T12:00:00+00:00"
    assert rows[f"header {h.LINE}"] == "3"
    assert {"dlq_id", "category", "attempts", "source_offset", "error"} <= rows.keys()


def test_replace_headers_keeps_order_replaces_once_and_appends() -> None:
    headers: list[tuple[str, bytes | None]] = [
        ("a", b"1"),
        (h.CORRELATION_ID, b"old"),
        ("b", None),
        (h.CORRELATION_ID, b"older"),
    ]
    out = replace_headers(headers, {h.CORRELATION_ID: "new", "c": "3"})
    assert out == [("a", b"1"), (h.CORRELATION_ID, b"new"), ("b", None), ("c", b"3")]


def test_redrive_headers() -> None:
    got = dict(redrive_headers(dlq_rec(attempts=2), "redrive-r1:abc123"))
    assert got[h.CORRELATION_ID] == b"redrive-r1:abc123"
    assert got[h.ATTEMPTS] == b"3"
    assert got[FIRST_SEEN] == b"2026-03-01T12:00:00+00:00"
    assert got[REDRIVEN_FROM] == b"abc123"
    assert got[h.SOURCE_FILE] == b"pos.csv"  # the rest as it was


def test_resolve_raw_topic() -> None:
    settings = Settings(topic_prefix="demo")
    assert resolve_raw_topic(settings, "raw.pos") == "demo.raw.pos"
    assert resolve_raw_topic(settings, "demo.raw.promotions") == "demo.raw.promotions"
    assert resolve_raw_topic(settings, "raw.claims") == "demo.raw.claims"
    with pytest.raises(ReplayError, match="not a raw topic"):
        resolve_raw_topic(settings, "demo.ledger")


def test_a_replay_skips_the_claims_ticks_and_keeps_every_record() -> None:
    tick = ticks.encode(Tick(1_700_000_000_000_000, False))
    assert not replayable(Message(topic="demo.raw.claims", key=ticks.TICK_KEY, value=tick))
    row = b"header,CLM-1,1,ACME,AGR-1,2026-01,1.00,USD,0,,,,,,"
    assert replayable(Message(topic="demo.raw.claims", key=b"ACME", value=row))
    assert replayable(Message(topic="demo.raw.pos", key=ticks.TICK_KEY, value=b"T1,1,S1"))


def test_parse_time() -> None:
    assert parse_time(None, "--since") is None
    assert parse_time("2026-03-01T00:00:00Z", "--since") == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match="no UTC offset"):
        parse_time("2026-03-01T00:00:00", "--since")
    with pytest.raises(ConfigError, match="not an ISO 8601"):
        parse_time("yesterday", "--since")


HOLD = """
import fcntl, sys, time
f = open(sys.argv[1], "a")
(fcntl.flock if sys.argv[2] == "flock" else fcntl.lockf)(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(30)
"""


def hold_lock(path: Path, kind: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), kind], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.parametrize("kind", ["flock", "lockf"])
def test_state_rebuild_refuses_while_a_worker_holds_the_state(tmp_path: Path, kind: str) -> None:
    settings = Settings(home=tmp_path)
    db = settings.state_dir / "faust" / "app-data" / "v1" / "tables" / "rebate-state-0.db"
    db.mkdir(parents=True)
    # flock: the worker's own lock file; lockf: RocksDB's LOCK of an open database
    lock = settings.state_dir / WORKER_LOCK if kind == "flock" else db / "LOCK"
    lock.touch()
    proc = hold_lock(lock, kind)
    try:
        with pytest.raises(GroupError, match="a worker is running"):
            rebuild_state(settings)
        assert db.exists()
    finally:
        proc.kill()
        proc.wait()
    time.sleep(0.05)
    (settings.state_dir / "CLEAN_SHUTDOWN").touch()
    removed = rebuild_state(settings)
    assert not db.exists() and not (settings.state_dir / "CLEAN_SHUTDOWN").exists()
    assert len(removed) == 2
    assert rebuild_state(settings) == []
