"""Listings that stay readable piped or in a narrow terminal: plain columns, JSON Lines or
CSV on stdout, text escaped, long cells cut with an ellipsis (in the table only)."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, TextIO

import typer

from streams.formats.records import cut
from streams.ops.dlq import escape_text

Row = Mapping[str, object]
GAP = "  "
NARROWEST = 8  # a column is never cut below this many characters to fit the terminal


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="table: plain columns, long values cut (…); json: one object per line; csv.",
    ),
]


def _cell(value: object) -> str:
    return "-" if value is None else escape_text(str(value))


def fit(widths: list[int], total: int) -> list[int]:
    """Narrow the widest columns (not below NARROWEST) until the row fits ``total``."""
    widths = list(widths)
    while sum(widths) + len(GAP) * (len(widths) - 1) > total:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= NARROWEST:
            break
        widths[widest] -= 1
    return widths


def table(
    columns: Sequence[str],
    rows: Sequence[Row],
    caps: Mapping[str, int],
    width: int | None = None,
) -> list[str]:
    """The lines of a plain table: a header, then one line per row. Cells are escaped and
    cut at their column's cap (``caps``), then to ``width`` characters a line if given."""
    cells = [[_cell(row.get(name)) for name in columns] for row in rows]
    widths = [
        min(max([len(name), *(len(line[i]) for line in cells)]), caps.get(name, 10**9))
        for i, name in enumerate(columns)
    ]
    if width is not None:
        widths = fit(widths, width)
    lines = []
    for line in [list(columns), *cells]:
        parts = [cut(text, w).ljust(w) for text, w in zip(line, widths, strict=True)]
        lines.append(GAP.join(parts).rstrip())
    return lines


def terminal_width(out: TextIO) -> int | None:
    """The terminal's width when ``out`` is one; None when piped (no cutting to fit)."""
    return shutil.get_terminal_size().columns if out.isatty() else None


def emit(
    fmt: OutputFormat,
    columns: Sequence[str],
    rows: Sequence[Row],
    caps: Mapping[str, int],
    out: TextIO | None = None,
) -> None:
    """Write ``rows`` to ``out`` (stdout) as a table, JSON Lines or CSV. JSON and CSV hold
    every value whole: JSON with non-ASCII escaped, CSV with unprintable characters
    escaped as in the table."""
    out = out or sys.stdout
    if fmt is OutputFormat.JSON:
        for row in rows:
            out.write(json.dumps({name: row.get(name) for name in columns}, default=str) + "\n")
    elif fmt is OutputFormat.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(n) is None else _cell(row.get(n)) for n in columns])
    else:
        for line in table(columns, rows, caps, terminal_width(out)):
            out.write(line + "\n")
