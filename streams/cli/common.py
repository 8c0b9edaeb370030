"""What every sub-command shares: settings from env + global flags, and error reporting."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from streams.errors import ReconError
from streams.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

console = Console(stderr=True)


def settings_from(ctx: typer.Context) -> Settings:
    """The Settings built by the root callback (env, then global flags)."""
    obj = ctx.find_root().obj
    if isinstance(obj, Settings):
        return obj
    return Settings()


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a ReconError into a clear one-line message and exit status 1, not a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ReconError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(1) from exc

    return wrapper


def input_file(help: str) -> Any:
    """The FILE argument of a command that reads one existing, readable file."""
    return typer.Argument(
        exists=True,
        file_okay=True,
        dir_okay=False,
        readable=True,
        metavar="FILE",
        show_default=False,
        help=help,
    )
