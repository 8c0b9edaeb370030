"""`recon matches export` and `recon exceptions export`: the current state of matching."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import console, reports_errors, settings_from
from streams.ops.matches import (
    exception_events,
    live_pairs,
    match_events,
    open_exceptions,
    own_parties,
    write_exceptions,
    write_matches,
)

OutOption = Annotated[Path, typer.Option("--out", help="CSV file to write.")]

matches_app = typer.Typer(
    help="Read the matches topic (one row per live pair).", no_args_is_help=True
)
exceptions_app = typer.Typer(
    help="Read the exceptions topic (one row per open exception).", no_args_is_help=True
)


@matches_app.command("export")
@reports_errors
def export_matches(ctx: typer.Context, out: OutOption) -> None:
    """The current pairing, after amendments and cancellations: one row per live pair."""
    events = match_events(settings_from(ctx))
    rows = write_matches(live_pairs(events), out)
    console.print(f"matches export: {rows} live pairs (from {len(events)} events) -> {out}")


@exceptions_app.command("export")
@reports_errors
def export_exceptions(ctx: typer.Context, out: OutOption) -> None:
    """The open exceptions: unmatched, mismatched and conflicting records."""
    settings = settings_from(ctx)
    events = exception_events(settings)
    rows = write_exceptions(open_exceptions(events), out, own_parties(settings))
    console.print(f"exceptions export: {rows} open (from {len(events)} events) -> {out}")
