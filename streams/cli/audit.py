"""`recon audit`: the per-file completeness check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from streams.cli.common import console, reports_errors, settings_from
from streams.ops.audit import audit as run_audit
from streams.ops.audit import write_audit


@reports_errors
def audit(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file to write.")] = None,
) -> None:
    """Per source file: read = applied + duplicate + dead_lettered. Exit 1 if any differ."""
    rows = run_audit(settings_from(ctx))
    if out is not None:
        write_audit(rows, out)
    table = Table("source_file", "sha256", "read", "applied", "duplicate", "dead_lettered", "ok")
    for r in rows:
        table.add_row(
            r.source_file,
            r.file_sha256[:12],
            str(r.read),
            str(r.applied),
            str(r.duplicate),
            str(r.dead_lettered),
            "[green]yes[/]" if r.reconciles else f"[red]{r.read - r.decided} pending[/]",
        )
    console.print(table)
    if not all(r.reconciles for r in rows):
        raise typer.Exit(1)
