"""`recon claims reconcile`: vendor claims against accruals over files (docs/claims.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import reports_errors, settings_from
from streams.formats.claims import tolerances
from streams.formats.x12.claims import interchange
from streams.ops.claims import reconcile, write_export
from streams.ops.claims_export import read_claims, read_responses

app = typer.Typer(help="Vendor rebate claims against accruals.", no_args_is_help=True)


@app.callback()
def claims() -> None:
    """Vendor rebate claims against accruals."""  # keeps `reconcile` a sub-command


@app.command("reconcile")
@reports_errors
def reconcile_cmd(
    ctx: typer.Context,
    pos: Annotated[Path, typer.Option("--pos", help="POS sales CSV.", exists=True)],
    promotions: Annotated[Path, typer.Option("--promotions", help="Agreements CSV.", exists=True)],
    claims_file: Annotated[
        Path, typer.Option("--claims", help="Claims CSV, or X12 844s.", exists=True)
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Write the table as CSV.")] = None,
    responses: Annotated[
        Path | None, typer.Option("--responses-849", help="Write an 849 per 844 read.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on a bad record.")] = False,
) -> None:
    """Reconcile the claims of a file against the accruals of POS and promotions files,
    in process (no broker): one row per claim version. Bad records are listed on stderr."""
    result = reconcile(pos, promotions, claims_file, tolerances(settings_from(ctx)))
    if out is None:
        write_export(result.results, sys.stdout)
    else:
        with out.open("w", encoding="utf-8") as f:
            write_export(result.results, f)
        typer.echo(f"{len(result.results)} claim versions -> {out}", err=True)
    if responses is not None:
        responses.write_bytes(interchange(result.responses))
    for error in result.errors:
        typer.echo(f"bad record: {error}", err=True)
    if result.errors and strict:
        raise typer.Exit(1)


@app.command("export")
@reports_errors
def export_cmd(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="Write the table as CSV.")] = None,
    responses: Annotated[
        Path | None,
        typer.Option("--responses-849", help="Write the latest 849 of each 844 received."),
    ] = None,
) -> None:
    """The claims as the worker decided them, read from the claim results topic: one row
    per claim version, the columns of `recon claims reconcile`."""
    settings = settings_from(ctx)
    view = read_claims(settings)
    results = view.sorted_results()
    if responses is not None:
        answered = read_responses(settings)
        responses.write_bytes(b"".join(answered.values()))
        typer.echo(f"{len(answered)} 849 responses -> {responses}", err=True)
    if out is None:
        write_export(results, sys.stdout)
        return
    with out.open("w", encoding="utf-8") as f:
        write_export(results, f)
    typer.echo(f"{len(results)} claim versions -> {out}", err=True)
