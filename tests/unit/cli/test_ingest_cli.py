"""`recon ingest`: file-level warnings go to stderr, the summary to stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from streams.cli import ingest as ingest_cli
from streams.ingest.producer import IngestResult

pytestmark = pytest.mark.unit


def test_a_header_warning_is_one_line_on_stderr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    warning = "pos.csv: the header row has none of the pos columns (…)"

    def ingest_file(*args: Any, **kwargs: Any) -> IngestResult:
        return IngestResult(
            "r1", "pos.csv", "ab", "pos-csv", "t.raw.pos", 2, 2, 40, 0.1, 0, (warning,)
        )

    monkeypatch.setattr(ingest_cli, "ingest_file", ingest_file)
    path = tmp_path / "pos.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    app = typer.Typer()
    app.callback()(lambda: None)
    app.add_typer(ingest_cli.app, name="ingest")
    result = CliRunner().invoke(app, ["ingest", "pos", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"warning: {warning}"]
    assert result.stdout.startswith("ingested pos.csv: 2 rows read")
