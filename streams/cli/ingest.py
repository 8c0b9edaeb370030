"""`recon ingest pos|promotions|trades|confirmations|edi|rates|claims FILE`: publish a CSV
(or X12) file to its raw topic."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import input_file, reports_errors, settings_from
from streams.ingest.producer import Kind, ingest_file
from streams.observability.push import run_metrics

app = typer.Typer(
    help="Stream CSV files, record by record, to the raw Kafka topics.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, input_file("CSV file with a header row (UTF-8).")]


def _ingest(
    ctx: typer.Context, file: Path, kind: Kind, manifest_at: datetime | None = None
) -> None:
    # The bar only makes sense on a terminal; piped/CI runs get the summary line alone.
    settings = settings_from(ctx)
    with run_metrics(settings, "ingest") as run:
        result = ingest_file(
            settings,
            file,
            kind,
            progress=sys.stderr.isatty(),
            metrics=run.metrics,
            manifest_at=manifest_at,
        )
        run.published(result.topic, result.rows_published)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(result.summary())
    typer.echo(run.summary())


@app.command("pos")
@reports_errors
def pos(ctx: typer.Context, file: FileArg) -> None:
    """Publish POS sales lines to the raw POS topic (keyed by vendor_id)."""
    _ingest(ctx, file, "pos")


@app.command("promotions")
@reports_errors
def promotions(ctx: typer.Context, file: FileArg) -> None:
    """Publish promotion agreement rows to the raw promotions topic (keyed by vendor_id)."""
    _ingest(ctx, file, "promotions")


@app.command("trades")
@reports_errors
def trades(ctx: typer.Context, file: FileArg) -> None:
    """Publish trade captures to the raw trades topic (keyed by match group)."""
    _ingest(ctx, file, "trades")


@app.command("confirmations")
@reports_errors
def confirmations(ctx: typer.Context, file: FileArg) -> None:
    """Publish counterparty confirmations to the raw confirmations topic (keyed by match group)."""
    _ingest(ctx, file, "confirmations")


@app.command("edi")
@reports_errors
def edi(ctx: typer.Context, file: FileArg) -> None:
    """Publish an X12 file, one message per transaction set, to the raw EDI topic (keyed by
    PO number). Broken envelopes are published flagged and dead-lettered by the worker."""
    _ingest(ctx, file, "edi")


@app.command("claims")
@reports_errors
def claims(ctx: typer.Context, file: FileArg) -> None:
    """Publish a vendor claim file (CSV, or X12 844s: told by content) to the raw claims
    topic (keyed by vendor_id, co-partitioned with POS and promotions; docs/claims.md)."""
    _ingest(ctx, file, "claims")


@app.command("rates")
@reports_errors
def rates(ctx: typer.Context, file: FileArg) -> None:
    """Publish freight rate table rows (lanes, fuel, accessorials) to the raw rates topic
    (keyed by carrier); the worker keeps the tables and re-rates the 210s (docs/threeway.md)."""
    _ingest(ctx, file, "rates")


def _instant(text: str) -> datetime:
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no UTC offset (e.g. 2026-03-01T09:00:00Z)")
    return stamp


@app.command("inventory")
@reports_errors
def inventory(
    ctx: typer.Context,
    file: Annotated[Path, input_file("Lab inventory manifest: CSV, or Excel (.xlsx).")],
    manifest_at: Annotated[
        str | None,
        typer.Option(
            "--manifest-at",
            help="The manifest's time, ISO 8601 with an offset: the latest manifest wins "
            "per asset. Default: the file's modification time.",
        ),
    ] = None,
) -> None:
    """Publish a lab inventory manifest's rows to the raw inventory topic (keyed by asset,
    asset_id:grant_code). A header that is not exactly the manifest's columns is reported
    once; its rows are quarantined by the worker."""
    _ingest(ctx, file, "inventory", None if manifest_at is None else _instant(manifest_at))
