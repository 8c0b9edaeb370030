"""`recon topics create` / `recon topics list` / `recon topics acls`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from streams.cli.common import console, reports_errors, settings_from
from streams.cli.listing import FormatOption, OutputFormat, emit
from streams.errors import ConfigError
from streams.kafka.schemas import publish_schemas
from streams.kafka.topics import CATALOGUE, create_topics
from streams.ops.acls import ROLES, apply_acls, role_grants

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


@app.command("acls")
@reports_errors
def acls(
    ctx: typer.Context,
    role: Annotated[
        str | None, typer.Option(help=f"One of {', '.join(ROLES)}; default: every role.")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Create the role's ACLs for --principal.")
    ] = False,
    principal: Annotated[
        str | None, typer.Option(help="Who gets them, e.g. User:recon-worker (with --apply).")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """The ACLs each role needs (ALLOW, literal topic and group names), or --apply them."""
    settings = settings_from(ctx)
    if role is not None and role not in ROLES:
        raise ConfigError(f"--role {role}: expected one of {', '.join(ROLES)}")
    roles = ROLES if role is None else tuple(r for r in ROLES if r == role)
    if apply:
        if role is None or principal is None:
            raise ConfigError("--apply needs --role and --principal (e.g. User:recon-worker)")
        count = apply_acls(settings, roles[0], principal)
        console.print(f"acls: {count} ACLs of role {role} applied for {principal}")
        return
    rows = [
        {"role": r, "resource": g.resource, "name": g.name, "operation": g.operation, "why": g.why}
        for r in roles
        for g in role_grants(settings, r)
    ]
    emit(fmt, ["role", "resource", "name", "operation", "why"], rows, {"why": 60})
