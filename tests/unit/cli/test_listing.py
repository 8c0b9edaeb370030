"""Listings for pipes and narrow terminals: plain table, JSON Lines, CSV (cli/listing.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from streams.cli.listing import NARROWEST, OutputFormat, emit, table

pytestmark = pytest.mark.unit

COLUMNS = ("id", "source", "error")
HOSTILE = "bad \x1b[31mred\x1b[0m\r\nnext\u202eline\x00 " + "x" * 300
ROWS = [
    {"id": "a1", "source": "pos.csv:2", "error": HOSTILE},
    {"id": "b2", "source": None, "error": "short"},
]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_table_is_plain_columns_escaped_and_cut() -> None:
    lines = table(COLUMNS, ROWS, {"error": 40})
    assert lines[0].split() == ["id", "source", "error"]
    assert not any(ch in "".join(lines) for ch in "│┃─━┏┌\x1b\x00\r\u202e")
    first = lines[1]
    assert first.startswith("a1  pos.csv:2  bad \\x1b[31mred")
    assert first.endswith("…") and len(first) == 2 + 2 + 9 + 2 + 40
    assert "\\r\\nnext\\u202elin…" in first  # escaped, then cut
    assert lines[2].split() == ["b2", "-", "short"]  # a missing value shows as "-"


def test_the_table_fits_the_terminal_width_but_never_below_a_minimum() -> None:
    assert all(len(line) <= 50 for line in table(COLUMNS, ROWS, {}, width=50))
    squeezed = table(COLUMNS, ROWS, {}, width=5)
    assert len(squeezed[1].split("  ")[2]) == NARROWEST


def test_a_tty_gets_the_table_cut_to_its_width_a_pipe_the_caps_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    tty, pipe = Tty(), io.StringIO()
    emit(OutputFormat.TABLE, COLUMNS, ROWS, {"error": 200}, tty)
    emit(OutputFormat.TABLE, COLUMNS, ROWS, {"error": 200}, pipe)
    assert max(len(line) for line in tty.getvalue().splitlines()) <= 60
    assert max(len(line) for line in pipe.getvalue().splitlines()) == 2 + 2 + 9 + 2 + 200


def test_json_lines_hold_every_value_whole_and_ascii_only() -> None:
    out = io.StringIO()
    emit(OutputFormat.JSON, COLUMNS, [*ROWS, {"id": "c3", "source": "é", "error": 7}], {}, out)
    text = out.getvalue()
    assert text.isascii()
    parsed = [json.loads(line) for line in text.splitlines()]
    assert parsed[0] == ROWS[0] and parsed[1] == ROWS[1]
    assert parsed[2] == {"id": "c3", "source": "é", "error": 7}


def test_csv_holds_every_value_whole_with_unprintables_escaped() -> None:
    out = io.StringIO()
    emit(OutputFormat.CSV, COLUMNS, ROWS, {"error": 10}, out)
    header, first, second = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == list(COLUMNS)
    assert first[2].startswith("bad \\x1b[31mred") and first[2].endswith("x" * 300)
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert second == ["b2", "", "short"]
