"""`recon dlq list|show|redrive`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from streams.cli.common import console, reports_errors, settings_from
from streams.cli.listing import FormatOption, OutputFormat, emit
from streams.cli.sre import kafka_errors, parse_time
from streams.ops.dlq import (
    DEAD_LETTERED_AT,
    LIST_FIELDS,
    describe,
    dlq_records,
    find_dlq_record,
    list_row,
)
from streams.ops.redrive import redrive as run_redrive
from streams.ops.redrive import redriven_ids

app = typer.Typer(help="Inspect and redrive the dead-letter topic.", no_args_is_help=True)


@app.command("list")
@reports_errors
@kafka_errors
def list_dlq(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only records dead-lettered at or after this ISO time (with offset)."),
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """DLQ records with id, category, attempts, source position and error text, on stdout
    (the count on stderr). The table cuts long values: `recon dlq show ID` has them whole."""
    settings = settings_from(ctx)
    redriven = redriven_ids(settings)
    rows = [
        list_row(rec, rec["dlq_id"] in redriven)
        for rec in dlq_records(settings, category, since=parse_time(since, "--since"))
    ]
    if fmt is OutputFormat.TABLE:
        emit(fmt, TABLE_COLUMNS, [_table_row(row) for row in rows], TABLE_CAPS)
    else:
        emit(fmt, LIST_FIELDS, rows, {})
    console.print(f"{len(rows)} dead-lettered record(s)")


TABLE_COLUMNS = (
    "id", "category", "stage", "attempts", "dead-lettered", "source", "error", "redriven"
)
TABLE_CAPS = {"category": 20, "source": 60, "error": 80}


def _table_row(row: dict[str, object]) -> dict[str, object]:
    at = str(row[DEAD_LETTERED_AT])
    return {
        "id": str(row["dlq_id"])[:12],  # a prefix `recon dlq show` takes
        "category": row["category"],
        "stage": row["stage"],
        "attempts": row["attempts"],
        "dead-lettered": f"{at[:10]} {at[11:19]}Z",
        "source": f"{row['source_file']}:{row['source_line']} "
        f"({row['source_topic']}/{row['source_partition']}@{row['source_offset']})",
        "error": row["error"],
        "redriven": "yes" if row["redriven"] else "",
    }


@app.command("show")
@reports_errors
@kafka_errors
def show(
    ctx: typer.Context,
    dlq_id: Annotated[str, typer.Argument(help="DLQ id, or a unique prefix of it.")],
) -> None:
    """One DLQ record in full: every field, the original bytes (escaped) and headers."""
    settings = settings_from(ctx)
    rec = find_dlq_record(settings, dlq_id)
    table = Table("field", "value", show_header=False, show_lines=False)
    for name, text in describe(rec):
        table.add_row(name, escape(text))
    how = redriven_ids(settings).get(rec["dlq_id"])
    if how is not None:
        table.add_row("redriven", escape(f"run {how.get('run_id')} as {how.get('correlation_id')}"))
    console.print(table)


@app.command("redrive")
@reports_errors
@kafka_errors
def redrive(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    dlq_id: Annotated[
        str | None, typer.Option("--id", help="Only this DLQ id (or prefix).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, publish nothing.")] = False,
) -> None:
    """Re-publish dead-lettered records (original bytes, key, headers) to their source topic.

    Each DLQ record is redriven at most once; one that fails again comes back to the DLQ
    with attempts + 1 (and can be redriven in turn). Without --category or --id: all."""
    result = run_redrive(settings_from(ctx), category=category, dlq_id=dlq_id, dry_run=dry_run)
    table = Table("id", "category", "attempts", "to", "source")
    for rec in result.redriven:
        table.add_row(
            rec["dlq_id"][:12],
            rec["category"],
            f"{rec['attempts']} -> {rec['attempts'] + 1}",
            f"{rec['source_topic']}/{rec['source_partition']}",
            escape(f"{rec['source_file']}:{rec['source_line']}"),
        )
    if result.redriven:
        console.print(table)
    verb = "would redrive" if dry_run else f"redrove (run {result.run_id})"
    console.print(
        f"{verb} {len(result.redriven)} record(s); {result.skipped} skipped "
        "(already redriven, or oversized: fix the file and ingest it again)"
    )
