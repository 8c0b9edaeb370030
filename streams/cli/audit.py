"""`recon audit`: the per-file completeness check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import reports_errors, settings_from
from streams.cli.listing import FormatOption, OutputFormat, emit
from streams.ops.audit import COLUMNS, FileAudit, write_audit
from streams.ops.audit import audit as run_audit

ROW_FIELDS = (*COLUMNS, "pending", "reconciles")
TABLE_COLUMNS = ("source_file", "sha256", "read", "applied", "duplicate", "dead_lettered", "ok")
TABLE_CAPS = {"source_file": 40}


def _table_row(r: FileAudit) -> dict[str, object]:
    return r.as_row() | {
        "sha256": r.file_sha256[:12],
        "ok": "yes" if r.reconciles else f"{r.read - r.decided} pending",
    }


@reports_errors
def audit(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file to write.")] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Per source file: read = applied + duplicate + dead_lettered. Exit 1 if any differ."""
    rows = run_audit(settings_from(ctx))
    if out is not None:
        write_audit(rows, out)
    if fmt is OutputFormat.TABLE:
        emit(fmt, TABLE_COLUMNS, [_table_row(r) for r in rows], TABLE_CAPS)
    else:
        emit(fmt, ROW_FIELDS, [r.as_row() for r in rows], {})
    if not all(r.reconciles for r in rows):
        raise typer.Exit(1)
