"""`recon deliver TARGET`: deliver the ledger (and events) to a downstream system."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.broker.postgres import ensure_postgres
from streams.cli.common import reports_errors, settings_from
from streams.delivery.run import TARGETS, run_delivery


@reports_errors
def deliver(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help=f"One of: {', '.join(TARGETS)}.")],
    metrics_port: Annotated[
        int | None, typer.Option(help="Port of /metrics (env RECON_METRICS_PORT; 0: any).")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="crit|error|warn|info|debug")] = "warn",
    drain: Annotated[
        bool,
        typer.Option("--drain", help="Exit 0 once the target's group has caught up (batch runs)."),
    ] = False,
) -> None:
    """Deliver ledger entries to TARGET (own consumer group per target), committing offsets
    only after the target has them; runs until SIGTERM (docs/delivery.md)."""
    settings = settings_from(ctx).with_overrides(metrics_port=metrics_port)
    dsn = ensure_postgres(settings) if target == "postgres" else None
    run_delivery(settings, target, postgres_dsn=dsn, loglevel=loglevel, drain=drain)
