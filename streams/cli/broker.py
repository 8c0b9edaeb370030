"""`recon broker start|stop|status`: the embedded local Kafka broker."""

from __future__ import annotations

import typer
from rich.console import Console

from streams.broker.server import LocalBroker, check_cluster
from streams.cli.common import reports_errors, settings_from
from streams.kafka.security import check_access

app = typer.Typer(
    help="The embedded single-node Kafka broker (KRaft); unused if KAFKA_BOOTSTRAP_SERVERS is set.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)  # paths in messages must stay copy-pasteable


def _external(bootstrap: str) -> str:
    return f"external cluster configured (KAFKA_BOOTSTRAP_SERVERS={bootstrap})"


@app.command()
@reports_errors
def start(ctx: typer.Context) -> None:
    """Start the local broker (fetches its jars with Maven on first use) and wait until ready."""
    settings = settings_from(ctx)
    if not settings.uses_local_broker:
        out.print(f"{_external(settings.bootstrap)}: nothing to start")
        return
    broker = LocalBroker(settings)
    with out.status(f"starting Kafka {settings.kafka_version} on {broker.bootstrap} ..."):
        started = broker.start()
    state = "[green]started[/]" if started else "[green]already running[/]"
    status = broker.status()
    out.print(f"broker {state} on {status.bootstrap} (pid {status.pid}, log {status.log_file})")


@app.command()
@reports_errors
def stop(ctx: typer.Context) -> None:
    """Stop the local broker (its data is kept for the next start)."""
    settings = settings_from(ctx)
    if not settings.uses_local_broker:
        out.print(f"{_external(settings.bootstrap)}: nothing to stop")
        return
    broker = LocalBroker(settings)
    with out.status("stopping the broker ..."):
        stopped = broker.stop()
    out.print("broker [green]stopped[/]" if stopped else "broker was not running")


@app.command()
@reports_errors
def status(ctx: typer.Context) -> None:
    """Say whether the broker (or the external cluster) is up; exit status 1 if it is not."""
    settings = settings_from(ctx)
    if not settings.uses_local_broker:
        if settings.kafka_security_protocol == "PLAINTEXT":
            brokers = check_cluster(settings.bootstrap)  # BrokerError (exit 1) if silent
        else:  # KafkaSecurityError (exit 1) names a refused login or certificate
            brokers = check_access(settings, timeout=5.0)
        out.print(f"{_external(settings.bootstrap)}: [green]answering[/], {brokers} broker(s)")
        return
    st = LocalBroker(settings).status()
    if not st.running:
        out.print(f"broker [red]not running[/] (start it: `recon broker start`; log {st.log_file})")
        raise typer.Exit(1)
    out.print(
        f"broker [green]running[/] on {st.bootstrap} (pid {st.pid}, "
        f"data {st.data_dir}, log {st.log_file})"
    )
