"""`recon topics create` / `recon topics list`."""

from __future__ import annotations

import typer
from rich.table import Table

from streams.cli.common import console, reports_errors, settings_from
from streams.kafka.schemas import publish_schemas
from streams.kafka.topics import CATALOGUE, create_topics

app = typer.Typer(help="Create and describe the topics the app uses.", no_args_is_help=True)


@app.command("create")
@reports_errors
def create(ctx: typer.Context) -> None:
    """Create every topic (idempotent): partitions, replication and cleanup from settings."""
    settings = settings_from(ctx)
    result = create_topics(settings)
    created = sorted(name for name, status in result.items() if status == "created")
    versions = publish_schemas(settings)
    console.print(
        f"topics: {len(created)} created, {len(result) - len(created)} already existed "
        f"({settings.partitions} partitions, replication {settings.replication_factor}); "
        f"{versions} schema versions published"
    )


@app.command("list")
def list_topics(ctx: typer.Context) -> None:
    """The catalogue: every topic, its cleanup policy and what flows through it."""
    settings = settings_from(ctx)
    table = Table("topic", "cleanup", "purpose")
    for spec in CATALOGUE:
        table.add_row(
            settings.topic(spec.name), "compact" if spec.compacted else "delete", spec.purpose
        )
    console.print(table)
