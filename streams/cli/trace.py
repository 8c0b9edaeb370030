"""`recon trace CORRELATION_ID`: print a record's path (raw → outcome/agreement/DLQ →
ledger, matches, exceptions; a claim row's results, exceptions, settlements and 849s)."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.cli.common import reports_errors, settings_from
from streams.ops.trace import trace as trace_path


@reports_errors
def trace(
    ctx: typer.Context,
    correlation_id: Annotated[
        str, typer.Argument(help="The recon-correlation-id header (<run id>:<line>).")
    ],
) -> None:
    """Print every message of one record's path with topic, partition, offset and time."""
    for hop in trace_path(settings_from(ctx), correlation_id):
        typer.echo(hop.line())
