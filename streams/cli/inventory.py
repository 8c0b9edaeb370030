"""`recon inventory show|audit|hash` and `recon quarantine list|show|resubmit`: lab
inventory manifests (docs/inventory.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from streams.cli.common import console, input_file, reports_errors, settings_from
from streams.cli.listing import FormatOption, OutputFormat, emit
from streams.cli.sre import kafka_errors
from streams.domain.inventory.rows import COLUMNS
from streams.ops.dlq import describe, find_dlq_record
from streams.ops.inventory import (
    file_chunk_hashes,
    inventory_audit,
    inventory_rows,
    publish_audit,
    write_audit,
)
from streams.ops.quarantine import (
    ResubmitError,
    fields_of,
    quarantine_row,
    quarantined,
    resubmit,
)
from streams.ops.redrive import redriven_ids

inventory_app = typer.Typer(
    help="The current lab inventory and the audit of its manifests.", no_args_is_help=True
)
quarantine_app = typer.Typer(
    help="Review quarantined inventory rows and resubmit corrected ones.", no_args_is_help=True
)


@inventory_app.command("show")
@reports_errors
@kafka_errors
def show_inventory(ctx: typer.Context, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """The current inventory: one row per asset (asset_id:grant_code), its latest version."""
    rows = inventory_rows(settings_from(ctx))
    emit(fmt, (*COLUMNS, "content_hash", "manifest_at"), rows, {"content_hash": 12})
    console.print(f"{len(rows)} asset(s)")


@inventory_app.command("audit")
@reports_errors
@kafka_errors
def audit(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="Write the JSON Lines audit here (default: stdout).")
    ] = None,
    publish: Annotated[
        bool, typer.Option(help="Also publish each record to the inventory.audit topic.")
    ] = True,
) -> None:
    """One JSON audit record per manifest chunk: its SHA-256, processed time, rows
    committed / duplicate / quarantined / pending. Exit 1 while any row is pending."""
    settings = settings_from(ctx)
    records = inventory_audit(settings)
    if publish:
        publish_audit(settings, records)
    if out is None:
        write_audit(records, sys.stdout)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as f:
            write_audit(records, f)
    pending = sum(r["pending"] for r in records)
    console.print(f"{len(records)} chunk(s); {pending} row(s) pending")
    if pending:
        raise typer.Exit(1)


@inventory_app.command("hash")
@reports_errors
def hash_file(
    ctx: typer.Context,
    file: Annotated[Path, input_file("Inventory manifest: CSV, or Excel (.xlsx).")],
) -> None:
    """The chunk hashes of a manifest computed from the file alone (no broker): compare
    them with `recon inventory audit`."""
    for chunk in file_chunk_hashes(file, settings_from(ctx).inventory_chunk_rows):
        typer.echo(f"{chunk.index}\t{chunk.first_row}-{chunk.last_row}\t{chunk.sha256}")


QUARANTINE_COLUMNS = (
    "dlq_id", "category", "source_file", "source_line", "asset_id", "grant_code", "field",
    "error", "resubmitted",
)  # fmt: skip


@quarantine_app.command("list")
@reports_errors
@kafka_errors
def list_quarantine(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Quarantined inventory rows: id, category, position, asset, the first failing field
    and the error naming every failing field."""
    settings = settings_from(ctx)
    done = redriven_ids(settings)
    rows = [quarantine_row(r, r["dlq_id"] in done) for r in quarantined(settings, category)]
    if fmt is OutputFormat.TABLE:
        for row in rows:
            row["dlq_id"] = str(row["dlq_id"])[:12]
    emit(fmt, QUARANTINE_COLUMNS, rows, {"error": 90, "source_file": 30})
    console.print(f"{len(rows)} quarantined row(s)")


@quarantine_app.command("show")
@reports_errors
@kafka_errors
def show_quarantined(
    ctx: typer.Context,
    dlq_id: Annotated[str, typer.Argument(help="DLQ id, or a unique prefix of it.")],
) -> None:
    """One quarantined row in full: its fields by column, then the DLQ record."""
    rec = find_dlq_record(settings_from(ctx), dlq_id)
    table = Table("field", "value", show_header=False)
    for name, value in fields_of(rec).items():
        table.add_row(f"row.{name}", escape(value))
    for name, text in describe(rec):
        table.add_row(name, escape(text))
    console.print(table)


@quarantine_app.command("resubmit")
@reports_errors
@kafka_errors
def resubmit_row(
    ctx: typer.Context,
    dlq_id: Annotated[str, typer.Argument(help="DLQ id, or a unique prefix of it.")],
    changes: Annotated[
        list[str] | None,
        typer.Option("--set", help="A correction COLUMN=VALUE (repeat for several)."),
    ] = None,
) -> None:
    """Publish the quarantined row, corrected, as a new record linked to the original
    (header recon-resubmits); refused if it would still be quarantined."""
    fixes: dict[str, str] = {}
    for change in changes or []:
        name, sep, value = change.partition("=")
        if not sep:
            raise ResubmitError(f"--set {change!r}: expected COLUMN=VALUE")
        fixes[name.strip()] = value
    done = resubmit(settings_from(ctx), dlq_id, fixes)
    console.print(
        f"resubmitted {done.dlq_id[:12]} as {done.correlation_id} "
        f"(partition {done.partition}): {escape(done.row.decode())}"
    )
