"""`recon worker`: the Faust worker running every agent."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer

from streams.cli.common import console, reports_errors, settings_from
from streams.runtime.runner import run_worker


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
    close_windows: Annotated[
        bool | None,
        typer.Option(
            "--close-windows/--no-close-windows",
            help="With --drain: treat end of input as the close of every matching window "
            "(env RECON_CLOSE_WINDOWS_AT_END_OF_INPUT).",
            show_default=False,
        ),
    ] = None,
    quantity_tolerance: Annotated[
        Decimal | None,
        typer.Option(
            help="Matching: max |Δquantity| (env RECON_MATCH_QUANTITY_TOLERANCE, default 0)."
        ),
    ] = None,
    price_tolerance: Annotated[
        Decimal | None,
        typer.Option(
            help="Matching: max |Δprice| (env RECON_MATCH_PRICE_TOLERANCE, default 0.01)."
        ),
    ] = None,
    time_tolerance: Annotated[
        float | None,
        typer.Option(
            help="Matching: max |Δtrade time| in seconds "
            "(env RECON_MATCH_TIME_TOLERANCE_SECONDS, default 300)."
        ),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="crit|error|warn|info|debug")] = "warn",
) -> None:
    """Run the stream worker (all agents, tables and the outbox relay)."""
    settings = settings_from(ctx).with_overrides(
        close_windows_at_end_of_input=close_windows,
        match_quantity_tolerance=quantity_tolerance,
        match_price_tolerance=price_tolerance,
        match_time_tolerance_seconds=time_tolerance,
    )
    run_worker(settings, drain=drain, loglevel=loglevel)
    if drain:
        console.print("worker: drained, every input processed and every output flushed")
