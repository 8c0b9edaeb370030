"""`recon ledger totals|export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import console, reports_errors, settings_from
from streams.ops.ledger import read_ledger, write_export, write_totals

app = typer.Typer(help="Read the ledger topic (each entry_id counted once).", no_args_is_help=True)

OutOption = Annotated[Path, typer.Option("--out", help="CSV file to write.")]


@app.command("totals")
@reports_errors
def totals(ctx: typer.Context, out: OutOption) -> None:
    """Sum of entries per (agreement, period, currency)."""
    ledger = read_ledger(settings_from(ctx))
    rows = write_totals(ledger, out)
    console.print(
        f"ledger totals: {rows} (agreement, period) rows from {len(ledger.entries)} "
        f"entries ({ledger.duplicate_copies} duplicate copies ignored) -> {out}"
    )


@app.command("export")
@reports_errors
def export(ctx: typer.Context, out: OutOption) -> None:
    """One row per distinct entry."""
    ledger = read_ledger(settings_from(ctx))
    rows = write_export(ledger, out)
    console.print(f"ledger export: {rows} entries -> {out}")
