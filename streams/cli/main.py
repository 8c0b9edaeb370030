"""Root of the `recon` CLI: global options, then one sub-app per area."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from streams.cli import (
    archive,
    audit,
    bench,
    broker,
    claims,
    deliver,
    dlq,
    edi,
    ingest,
    inventory,
    ledger,
    matching,
    postgres,
    sre,
    topics,
    trace,
    worker,
)
from streams.cli.common import console
from streams.formats import avro
from streams.kafka.registry import SchemaRegistry
from streams.settings import Settings

app = typer.Typer(
    name="recon",
    help="recon-streams: continuous reconciliation of money-moving feeds on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            "--bootstrap-servers",
            envvar="KAFKA_BOOTSTRAP_SERVERS",
            help="Existing Kafka cluster; default: the embedded local broker.",
        ),
    ] = None,
    topic_prefix: Annotated[str | None, typer.Option(help="Prefix of every topic name.")] = None,
    app_id: Annotated[str | None, typer.Option(help="Consumer group / Faust app id.")] = None,
    home: Annotated[Path | None, typer.Option(help="Local state directory.")] = None,
) -> None:
    try:
        ctx.obj = settings = Settings().with_overrides(
            bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix, app_id=app_id, home=home
        )
    except ValidationError as exc:  # one line per problem, not a traceback
        for problem in exc.errors():
            where = ".".join(str(part) for part in problem["loc"])
            message = str(problem["msg"]).removeprefix("Value error, ")
            console.print(
                f"[bold red]error:[/] invalid settings: {where}{': ' if where else ''}{message}"
            )
        raise typer.Exit(2) from exc
    avro.write_bare(settings.avro_framing == "bare")
    url = settings.schema_registry_url
    avro.use_registry(SchemaRegistry(url) if url else None)


app.add_typer(broker.app, name="broker")
app.add_typer(topics.app, name="topics")
app.add_typer(ingest.app, name="ingest")
app.add_typer(ledger.app, name="ledger")
app.add_typer(dlq.app, name="dlq")
app.add_typer(edi.app, name="edi")
app.add_typer(claims.app, name="claims")
app.add_typer(postgres.app, name="postgres")
app.add_typer(archive.app, name="archive")
app.add_typer(matching.matches_app, name="matches")
app.add_typer(matching.exceptions_app, name="exceptions")
app.add_typer(sre.group_app, name="group")
app.add_typer(sre.state_app, name="state")
app.add_typer(inventory.inventory_app, name="inventory")
app.add_typer(inventory.quarantine_app, name="quarantine")
app.command("worker")(worker.worker)
app.command("deliver")(deliver.deliver)
app.command("replay")(sre.replay)
app.command("lag")(sre.lag)
app.command("audit")(audit.audit)
app.command("bench")(bench.bench)
app.command("trace")(trace.trace)


def main() -> None:
    app()
