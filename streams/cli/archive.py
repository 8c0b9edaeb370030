"""`recon archive verify`: prove the Parquet archive complete and untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from streams.cli.common import console, reports_errors, settings_from
from streams.delivery.archive import verify as verify_archive

app = typer.Typer(help="The Parquet archive of `recon deliver archive`.", no_args_is_help=True)


@app.command("verify")
@reports_errors
def verify(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Archive directory (env RECON_ARCHIVE_DIR, <home>/archive)."),
    ] = None,
) -> None:
    """Check every file against its commit record (SHA-256, row count) and look for files
    no record lists; exit status 1 on any problem."""
    root = directory or settings_from(ctx).archive_root
    result = verify_archive(root)
    for problem in result.problems:
        console.print(escape(problem), highlight=False, soft_wrap=True)
    if result.problems:
        console.print(
            f"[bold red]archive {escape(str(root))}: {len(result.problems)} problem(s)[/]",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(
        f"archive {escape(str(root))}: {result.files} files, {result.rows} rows, all as committed",
        soft_wrap=True,
    )
