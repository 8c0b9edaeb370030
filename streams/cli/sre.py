"""SRE commands: `recon replay`, `recon lag`, `recon group reset`, `recon state rebuild`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

import typer
from confluent_kafka import KafkaException
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from streams.cli.common import console, reports_errors, settings_from
from streams.errors import ConfigError, KafkaOperationError
from streams.observability.push import run_metrics
from streams.ops import group as g
from streams.ops import replay as r

P = ParamSpec("P")
R = TypeVar("R")


def kafka_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Report a Kafka client error (broker down, leader not available) as a one-line error."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except KafkaException as exc:
            raise KafkaOperationError(f"Kafka: {exc.args[0] if exc.args else exc}") from exc

    return wrapper


def parse_time(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 time with a UTC offset (``Z`` accepted); None stays None."""
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{option} {text!r} is not an ISO 8601 time") from exc
    if at.tzinfo is None:
        raise ConfigError(f"{option} {text!r} has no UTC offset (add Z or +00:00)")
    return at


# -- replay -------------------------------------------------------------------------------


@reports_errors
@kafka_errors
def replay(
    ctx: typer.Context,
    topic: Annotated[str, typer.Option(help="Raw topic, logical (raw.pos) or full name.")],
    from_offset: Annotated[int | None, typer.Option(help="First offset (each partition).")] = None,
    from_time: Annotated[str | None, typer.Option(help="First record at/after (ISO).")] = None,
    to_offset: Annotated[int | None, typer.Option(help="Stop before this offset.")] = None,
    to_time: Annotated[str | None, typer.Option(help="Stop before this time (ISO).")] = None,
    partition: Annotated[int | None, typer.Option(help="Only this partition.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the ranges only.")] = False,
) -> None:
    """Re-publish a range of a raw topic into the same topic (same partition, key and
    headers, a new correlation id) and one manifest per source file. Safe: the worker
    counts valid replayed records as duplicates; `recon audit` still reconciles."""
    settings = settings_from(ctx)
    name = r.resolve_raw_topic(settings, topic)
    ranges = r.plan(
        settings,
        name,
        from_offset=from_offset,
        from_time=parse_time(from_time, "--from-time"),
        to_offset=to_offset,
        to_time=parse_time(to_time, "--to-time"),
        partition=partition,
    )
    total = sum(x.count for x in ranges)
    if dry_run:
        table = Table("partition", "from offset", "to offset (excl.)", "messages")
        for x in ranges:
            table.add_row(str(x.partition), str(x.start), str(x.end), str(x.count))
        console.print(table)
        # Counting records would mean reading the range: a chunk of lines is one message.
        console.print(f"would replay {total} message(s) of {name}")
        return
    columns = (TextColumn("[bold]replay {task.description}"), BarColumn(), MofNCompleteColumn())
    with (
        run_metrics(settings, "replay") as run,
        Progress(
            *columns, TimeRemainingColumn(), console=Console(stderr=True), transient=True
        ) as bar,
    ):
        task = bar.add_task(name, total=total)
        result = r.replay(settings, name, ranges, on_record=lambda: bar.advance(task))
        for f in result.files:
            run.published(f.topic, f.delivered)
    for f in result.files:
        console.print(f"  {f.source_file} ({f.file_sha256[:12]}): {f.delivered} replayed")
    console.print(
        f"replayed {result.records} record(s) of {name} (run replay-{result.run_id}); "
        "run the worker, then `recon audit`"
    )
    console.print(run.summary())


# -- lag ----------------------------------------------------------------------------------


@reports_errors
@kafka_errors
def lag(ctx: typer.Context) -> None:
    """Lag per topic/partition of the app's consumer group and of the outbox relay's."""
    rows = g.lags(settings_from(ctx))
    table = Table("group", "topic", "partition", "committed", "end", "lag")
    for row in rows:
        behind = row.lag.behind
        table.add_row(
            row.group,
            row.lag.topic,
            str(row.lag.partition),
            "-" if row.lag.committed is None else str(row.lag.committed),
            str(row.lag.end),
            f"[yellow]{behind}[/]" if behind else "0",
        )
    console.print(table)
    console.print(f"total lag: {sum(x.lag.behind for x in rows)}")


# -- group --------------------------------------------------------------------------------

group_app = typer.Typer(help="The app's consumer group.", no_args_is_help=True)


@group_app.command("reset")
@reports_errors
@kafka_errors
def group_reset(
    ctx: typer.Context,
    to_earliest: Annotated[bool, typer.Option("--to-earliest", help="Earliest offsets.")] = False,
    to_time: Annotated[str | None, typer.Option(help="First record at/after (ISO).")] = None,
    to_offset: Annotated[int | None, typer.Option(help="This offset (each partition).")] = None,
    topic: Annotated[
        list[str] | None, typer.Option(help="Only this topic (full name; repeatable).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the moves only.")] = False,
) -> None:
    """Move the app's committed offsets. Refuses while the group has active members."""
    settings = settings_from(ctx)
    if not dry_run:
        g.refuse_if_active(settings)  # before anything else: a running worker wins
    moves = g.plan_reset(
        settings,
        to_earliest=to_earliest,
        to_time=parse_time(to_time, "--to-time"),
        to_offset=to_offset,
        topics=topic,
    )
    table = Table("topic", "partition", "committed", "new offset")
    for m in moves:
        committed = "-" if m.committed is None else str(m.committed)
        table.add_row(m.topic, str(m.partition), committed, str(m.target))
    console.print(table)
    if dry_run:
        info = g.describe_group(settings, settings.app_id)
        console.print(f"dry run: group {info.group} is {info.state}; nothing committed")
        return
    g.reset_offsets(settings, moves)
    console.print(f"reset {len(moves)} partition(s) of group {settings.app_id}")


# -- state --------------------------------------------------------------------------------

state_app = typer.Typer(help="The worker's local state.", no_args_is_help=True)


@state_app.command("rebuild")
@reports_errors
@kafka_errors
def state_rebuild(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop the local RocksDB state: the next worker start rebuilds it from the changelogs.
    Refuses while a worker runs on this state directory."""
    settings = settings_from(ctx)
    if not yes:
        typer.confirm(f"delete the local state under {settings.state_dir}?", abort=True)
    removed = g.rebuild_state(settings)
    if removed:
        for path in removed:
            console.print(f"removed {path}")
        console.print("the next `recon worker` restores the tables from their changelogs")
    else:
        console.print(f"no local state under {settings.state_dir}: nothing to do")
