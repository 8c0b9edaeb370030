"""`recon bench`: throughput, latency, memory and baselines in one run (docs/benchmark.md)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from streams.cli.common import reports_errors, settings_from
from streams.tools.bench.run import BenchOptions, run_bench


@reports_errors
def bench(
    ctx: typer.Context,
    quick: Annotated[bool, typer.Option("--quick", help="Smoke run: tiny N, 1 worker.")] = False,
    lines: Annotated[
        int | None, typer.Option(help="POS lines for ingest and pass-through (default 1M).")
    ] = None,
    e2e_lines: Annotated[
        int | None,
        typer.Option(help="POS lines through the worker stages, chunked (default 1M)."),
    ] = None,
    record_lines: Annotated[
        int | None,
        typer.Option(help="POS lines one per message, ours and quixstreams (default 50k)."),
    ] = None,
    workers: Annotated[
        str | None, typer.Option(help="Worker counts to run, e.g. '1,2' (default 1,2; 0 = none).")
    ] = None,
    quix: Annotated[
        bool | None, typer.Option("--quix/--no-quix", help="quixstreams baseline.")
    ] = None,
    latency_seconds: Annotated[
        float | None, typer.Option(help="Paced-load latency stage length (0 = skip).")
    ] = None,
    state_keys: Annotated[
        int | None,
        typer.Option(
            help="Also run 1 worker with this many idempotency keys in its state "
            "(the memory target: 10000000)."
        ),
    ] = None,
    delivery_entries: Annotated[
        int | None,
        typer.Option(
            help="Ledger entries delivered to PostgreSQL beside a plain COPY "
            "(default 1M; 0 = skip)."
        ),
    ] = None,
    claim_lines: Annotated[
        int | None,
        typer.Option(help="Lines of the claims stage's claim (default 500k; 0 = skip)."),
    ] = None,
    claim_sales: Annotated[
        int | None,
        typer.Option(help="Sales the claims stage's claim is checked against (default 1M)."),
    ] = None,
    stage_timeout: Annotated[
        float | None, typer.Option(help="Seconds a stage may take (default 900).")
    ] = None,
    work: Annotated[Path, typer.Option(help="Scratch dir (wiped).")] = Path(".recon/bench-work"),
) -> None:
    """Generate a feed, start a throw-away broker, measure ingest, the worker end to end,
    the baselines (raw pass-through, quixstreams), scaling, latency and delivery to
    PostgreSQL; check the totals."""
    options = BenchOptions.quick(work) if quick else BenchOptions(work=work)
    overrides: dict[str, Any] = {
        "lines": lines,
        "e2e_lines": e2e_lines,
        "record_lines": record_lines,
        "quix": quix,
        "latency_seconds": latency_seconds,
        "state_keys": state_keys,
        "delivery_entries": delivery_entries,
        "claim_lines": claim_lines,
        "claim_sales": claim_sales,
        "stage_timeout": stage_timeout,
        # --workers 0: no worker stage (e.g. an ingest-memory run on a big N)
        "workers": tuple(n for n in map(int, workers.split(",")) if n > 0) if workers else None,
    }
    options = dataclasses.replace(options, **{k: v for k, v in overrides.items() if v is not None})
    report = run_bench(settings_from(ctx), options, _log)
    print(report.render(), flush=True)
    if report.failed:
        raise typer.Exit(1)


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
