"""`recon postgres start|stop|status`: the private local PostgreSQL of `recon deliver postgres`."""

from __future__ import annotations

import typer
from rich.console import Console

from streams.broker.postgres import LocalPostgres
from streams.cli.common import reports_errors, settings_from

app = typer.Typer(
    help="The private local PostgreSQL (unused if RECON_POSTGRES_DSN is set).",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)


@app.command()
@reports_errors
def start(ctx: typer.Context) -> None:
    """Start the local server (initdb on first use) and wait until it accepts connections."""
    settings = settings_from(ctx)
    if settings.postgres_dsn:
        out.print("RECON_POSTGRES_DSN is set: nothing to start")
        return
    server = LocalPostgres(settings)
    started = server.start()
    state = "[green]started[/]" if started else "[green]already running[/]"
    out.print(f"PostgreSQL {state}: {server.dsn} (log {server.log_file})")


@app.command()
@reports_errors
def stop(ctx: typer.Context) -> None:
    """Stop the local server (its data is kept)."""
    settings = settings_from(ctx)
    if settings.postgres_dsn:
        out.print("RECON_POSTGRES_DSN is set: nothing to stop")
        return
    stopped = LocalPostgres(settings).stop()
    out.print("PostgreSQL [green]stopped[/]" if stopped else "PostgreSQL was not running")


@app.command()
@reports_errors
def status(ctx: typer.Context) -> None:
    """Say whether the local server runs; exit status 1 if it does not."""
    found = LocalPostgres(settings_from(ctx)).status()
    if not found.running:
        out.print(f"PostgreSQL is [red]not running[/] (data {found.data_dir})")
        raise typer.Exit(1)
    out.print(f"PostgreSQL [green]running[/]: {found.dsn} (log {found.log_file})")
