"""`recon ledger totals|export|check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.broker.postgres import ensure_postgres
from streams.cli.common import console, reports_errors, settings_from
from streams.errors import ConfigError
from streams.observability.push import run_metrics
from streams.ops.ledger import read_ledger, write_export, write_totals
from streams.ops.ledger_check import check_against_export, check_against_postgres

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


@app.command("check")
@reports_errors
def check(
    ctx: typer.Context,
    against: Annotated[
        str, typer.Option("--against", help="postgres, or erp-export (with --export).")
    ],
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            exists=True,
            dir_okay=False,
            help="ERP export CSV: entry_id,agreement_id,period,currency,amount.",
        ),
    ] = None,
) -> None:
    """Compare the ledger topic's totals per (agreement, period, currency) with what the
    target holds; exit status 1 on any difference (to the cent, or in entry count)."""
    settings = settings_from(ctx)
    if against not in ("postgres", "erp-export"):
        raise ConfigError(f"--against {against!r}: expected postgres or erp-export")
    if (against == "erp-export") != (export is not None):
        raise ConfigError("--export FILE goes with --against erp-export, and only with it")
    with run_metrics(settings, "ledger-check") as run:
        if export is not None:
            found = check_against_export(settings, export, run.metrics)
        else:
            found = check_against_postgres(settings, ensure_postgres(settings), run.metrics)
    for diff in found:
        console.print(diff.describe(), markup=False, highlight=False, soft_wrap=True)
    if found:
        console.print(
            f"[bold red]ledger check: {len(found)} difference(s) against {against}[/]",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(f"ledger check: {against} equals the ledger topic", soft_wrap=True)
