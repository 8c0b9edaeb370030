"""`recon dlq list` and `recon audit` in their three formats, on records given to them (the
reading from Kafka is tested in tests/integration/test_oversized.py)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from streams.cli import audit as audit_cli
from streams.cli import dlq as dlq_cli
from streams.ops.audit import FileAudit

pytestmark = pytest.mark.unit

RECORD: dict[str, Any] = {
    "dlq_id": "0123456789abcdef" * 2,
    "category": "parse_error",
    "stage": "parse",
    "attempts": 1,
    "dead_lettered_at": datetime(2026, 12, 6, 9, 30, 5, tzinfo=UTC),
    "source_file": "pos\x1b[2J.csv",
    "source_line": 262,
    "source_topic": "recon.raw.pos",
    "source_partition": 1,
    "source_offset": 87,
    "error": "pos.csv line 262: field sku='\x00\x07" + "S" * 500 + "': bad",
}


def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    def records(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield RECORD

    monkeypatch.setattr(dlq_cli, "dlq_records", records)
    monkeypatch.setattr(dlq_cli, "redriven_ids", lambda settings: {RECORD["dlq_id"]: {}})
    files = [FileAudit("pos.csv", "ab" * 32, 5, 3, 1, 1), FileAudit("x.csv", "cd" * 32, 2, 1)]
    monkeypatch.setattr(audit_cli, "run_audit", lambda settings: files)
    root = typer.Typer()
    root.callback()(lambda: None)
    root.add_typer(dlq_cli.app, name="dlq")
    root.command("audit")(audit_cli.audit)
    return root


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app(monkeypatch), list(args))
    return result.exit_code, result.stdout, result.stderr


def test_dlq_list_table_is_plain_escaped_and_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(monkeypatch, "dlq", "list")
    header, line = out.splitlines()
    assert code == 0 and header.split() == [
        "id", "category", "stage", "attempts", "dead-lettered", "source", "error", "redriven",
    ]
    assert line.startswith("0123456789ab  parse_error  parse  1         2026-12-06 09:30:05Z")
    assert "pos\\x1b[2J.csv:262 (recon.raw.pos/1@87)" in line
    assert "sku='\\x00\\x07SSS" in line and "…" in line and line.endswith("yes")
    assert "\x1b" not in out and "1 dead-lettered record(s)" in err


def test_dlq_list_json_and_csv_hold_whole_values(monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run(monkeypatch, "dlq", "list", "--format", "json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["dlq_id"] == RECORD["dlq_id"] and row["error"] == RECORD["error"]
    assert row["dead_lettered_at"] == "2026-12-06T09:30:05+00:00" and row["redriven"] is True
    _, out, _ = run(monkeypatch, "dlq", "list", "--format", "CSV")
    header, values = list(csv.reader(io.StringIO(out)))
    assert header[:3] == ["dlq_id", "category", "stage"]
    assert values[header.index("error")].endswith("S" * 500 + "': bad")
    assert values[header.index("source_file")] == "pos\\x1b[2J.csv"


def test_audit_formats_and_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(monkeypatch, "audit")
    assert code == 1  # x.csv has a record pending
    assert [line.split() for line in out.splitlines()] == [
        ["source_file", "sha256", "read", "applied", "duplicate", "dead_lettered", "ok"],
        ["pos.csv", "ab" * 6, "5", "3", "1", "1", "yes"],
        ["x.csv", "cd" * 6, "2", "1", "0", "0", "1", "pending"],
    ]
    _, out, _ = run(monkeypatch, "audit", "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[1] == {
        "source_file": "x.csv", "file_sha256": "cd" * 32, "read": 2, "applied": 1,
        "duplicate": 0, "dead_lettered": 0, "pending": 1, "reconciles": False,
    }
    _, out, _ = run(monkeypatch, "audit", "--format", "csv")
    assert out.splitlines()[1] == f"pos.csv,{'ab' * 32},5,3,1,1,0,True"


def test_an_unknown_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(monkeypatch, "audit", "--format", "xml")
    assert code == 2 and "xml" in err
