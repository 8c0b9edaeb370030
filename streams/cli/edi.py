"""`recon edi parse FILE`: an X12 file's documents as JSON lines, for debugging a partner's file.

No broker is needed. One JSON object per transaction set, in file order: the parsed document
with its envelope and position, or ``{"error": {...}}`` for an envelope, set or segment that
could not be parsed (parsing goes on after it). Exit status 1 if there was any error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import console, input_file, reports_errors, settings_from
from streams.formats.x12 import Fault, X12Reader, parse_sets
from streams.ops.acks import export_acks

app = typer.Typer(help="Inspect X12 EDI files (850, 860, 856, 810, 210).", no_args_is_help=True)
acks_app = typer.Typer(
    help="The 997/999/TA1 acknowledgements we send (docs/edi-controls.md).", no_args_is_help=True
)
app.add_typer(acks_app, name="acks")


@app.callback()
def edi() -> None:
    """Inspect X12 EDI files (850, 860, 856, 810, 210)."""  # keeps `parse` a sub-command


FileArg = Annotated[Path, input_file("X12 file: one or more interchanges (ISA...IEA).")]


@app.command("parse")
@reports_errors
def parse(
    file: FileArg,
    summary: Annotated[
        bool, typer.Option("--summary/--no-summary", help="Print the counts on stderr.")
    ] = True,
) -> None:
    """Print every transaction set of FILE as one JSON line (document or error)."""
    errors = documents = 0
    out = sys.stdout
    with file.open("rb") as f:
        reader = X12Reader(f)
        for item in parse_sets(reader):
            if isinstance(item, Fault):
                errors += 1
                line: dict[str, object] = {"error": item.as_dict()}
            else:
                documents += 1
                line = item.as_dict()
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    if summary:
        typer.echo(
            f"{file.name}: {reader.interchanges} interchange(s), {reader.groups} group(s), "
            f"{documents} document(s), {errors} error(s), {reader.segments} segments",
            err=True,
        )
    if errors:
        raise typer.Exit(1)


@acks_app.command("export")
@reports_errors
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the X12 files to.")],
) -> None:
    """Write every acknowledgement on the acks topic to OUT/<partner>/<type>-<control>.x12."""
    done = export_acks(settings_from(ctx), out)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(done.by_type.items())) or "none"
    console.print(
        f"acks export: {done.files} files ({kinds}) from {done.messages} messages -> {out}"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
