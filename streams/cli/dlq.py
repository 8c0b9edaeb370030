"""`recon dlq list`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from streams.cli.common import console, reports_errors, settings_from
from streams.ops.dlq import dlq_records

app = typer.Typer(help="Inspect the dead-letter topic.", no_args_is_help=True)


@app.command("list")
@reports_errors
def list_dlq(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
) -> None:
    """DLQ records with category, source position and error text."""
    table = Table("category", "stage", "source", "correlation id", "error", show_lines=False)
    count = 0
    for rec in dlq_records(settings_from(ctx), category):
        count += 1
        table.add_row(
            rec["category"],
            rec["stage"],
            f"{rec['source_file']}:{rec['source_line']} "
            f"({rec['source_topic']}/{rec['source_partition']}@{rec['source_offset']})",
            rec["correlation_id"],
            rec["error"],
        )
    console.print(table)
    console.print(f"{count} dead-lettered record(s)")
