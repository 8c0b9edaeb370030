"""`recon worker`: the Faust worker running every agent."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.agents.runner import run_worker
from streams.cli.common import console, reports_errors, settings_from


@reports_errors
def worker(
    ctx: typer.Context,
    drain: Annotated[
        bool,
        typer.Option(
            "--drain",
            help="Process until every input is caught up and all writes are flushed, "
            "then exit 0 (batch runs, tests, replays).",
        ),
    ] = False,
    loglevel: Annotated[str, typer.Option(help="crit|error|warn|info|debug")] = "warn",
) -> None:
    """Run the stream worker (all agents, tables and the ledger relay)."""
    settings = settings_from(ctx)
    run_worker(settings, drain=drain, loglevel=loglevel)
    if drain:
        console.print("worker: drained, every input processed and every output flushed")
