"""`recon ingest inventory` options and `recon inventory hash`, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from streams.cli import ingest as ingest_cli
from streams.cli.main import app as recon
from streams.ingest.producer import IngestResult
from streams.ops.inventory import file_chunk_hashes

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lab-inventory-2026-03.csv"


def ingest_app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    app.add_typer(ingest_cli.app, name="ingest")
    return app


def test_the_manifest_time_reaches_ingest(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def ingest_file(*args: Any, **kwargs: Any) -> IngestResult:
        seen.update(kind=args[2], manifest_at=kwargs["manifest_at"])
        return IngestResult("r1", EXAMPLE.name, "ab", "inventory-csv", "t.raw.inventory",
                            10, 10, 600, 0.1)  # fmt: skip

    monkeypatch.setattr(ingest_cli, "ingest_file", ingest_file)
    args = ["ingest", "inventory", str(EXAMPLE), "--manifest-at", "2026-03-01T09:00:00Z"]
    result = CliRunner().invoke(ingest_app(), args)
    assert result.exit_code == 0, result.output
    assert seen == {"kind": "inventory", "manifest_at": datetime(2026, 3, 1, 9, tzinfo=UTC)}


def test_a_manifest_time_without_offset_is_refused() -> None:
    args = ["ingest", "inventory", str(EXAMPLE), "--manifest-at", "2026-03-01T09:00:00"]
    result = CliRunner().invoke(ingest_app(), args)
    assert result.exit_code != 0
    assert "has no UTC offset" in result.output


def test_inventory_hash_prints_the_chunks_of_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_INVENTORY_CHUNK_ROWS", "4")
    result = CliRunner().invoke(recon, ["inventory", "hash", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    want = [f"{c.index}\t{c.first_row}-{c.last_row}\t{c.sha256}" for c in
            file_chunk_hashes(EXAMPLE, 4)]  # fmt: skip
    assert result.stdout.splitlines() == want
    assert [line.split("\t")[1] for line in want] == ["1-4", "5-8", "9-10"]
