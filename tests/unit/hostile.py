"""Hypothesis strategies for hostile input files: the classes of bytes the fuzz tests
drive through the CSV reader, the X12 reader and the per-record path (issue 20).

Classes: arbitrary bytes; well-formed-looking rows with quoted fields holding separators,
quotes and line breaks (LF, CRLF or lone CR line ends, blank lines, opening quotes that
never close) in UTF-8, UTF-8 with BOM, UTF-16 with and without BOM, Latin-1 or cp1252;
each maybe truncated anywhere or spliced with bytes that are not UTF-8, or with NULs.
X12: the example files mutated (junk spliced in, ranges dropped or repeated, re-encoded,
other line ends), or arbitrary bytes.
"""

from __future__ import annotations

import codecs

from hypothesis import strategies as st

# Characters that have a meaning for a CSV or X12 reader, or none of the ASCII it expects.
SPECIAL = ',"\r\n \t\x00\x1a~*^>|§é€\ufeff\u2028'
FIELD_TEXT = st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(codec="utf-8"), max_size=12)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "latin-1", "cp1252")


def _encode(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding``; characters it cannot hold become ``?`` (as a careless
    exporter would write them)."""
    return codecs.encode(text, encoding, errors="replace")


@st.composite
def quoted_rows(draw: st.DrawFn, header: str) -> str:
    """``header``, then rows of fields quoted, half-quoted or bare, holding separators,
    quotes and line breaks, joined by LF, CRLF or a lone CR."""
    width = len(header.split(","))
    rows: list[str] = [header]
    for _ in range(draw(st.integers(0, 6))):
        fields = []
        for text in draw(st.lists(FIELD_TEXT, min_size=1, max_size=width + 2)):
            quoting = draw(st.sampled_from(("bare", "quoted", "open", "doubled")))
            if quoting == "quoted":
                text = '"' + text.replace('"', '""') + '"'
            elif quoting == "open":  # an opening quote that never closes
                text = '"' + text
            elif quoting == "doubled":
                text = text.replace('"', '""')
            fields.append(text)
        rows.append(",".join(fields))
        if draw(st.booleans()):
            rows.append(draw(st.sampled_from(("", "  ", "\t"))))  # a blank line
    ending = draw(st.sampled_from(("\n", "\r\n", "\r")))
    tail = ending if draw(st.booleans()) else ""
    return ending.join(rows) + tail


def _mangle(draw: st.DrawFn, data: bytes) -> bytes:
    """Truncate ``data`` anywhere, or splice bytes that are not UTF-8 or NULs into it."""
    how = draw(st.sampled_from(("as is", "truncated", "invalid utf-8", "nul")))
    if not data or how == "as is":
        return data
    at = draw(st.integers(0, len(data)))
    if how == "truncated":
        return data[:at]
    junk = b"\xff\xfe\xc3(\x80\xed\xa0\x80" if how == "invalid utf-8" else b"\x00" * 3
    return data[:at] + junk + data[at:]


def csv_files(header: str) -> st.SearchStrategy[bytes]:
    """A CSV file with ``header``: arbitrary bytes, or quoted rows in some encoding (with
    or without BOM), maybe truncated or spliced with bytes that are not UTF-8 or NULs."""

    @st.composite
    def encoded(draw: st.DrawFn) -> bytes:
        text = draw(quoted_rows(header))
        return _mangle(draw, _encode(text, draw(st.sampled_from(ENCODINGS))))

    return st.one_of(st.binary(max_size=400), encoded())


def x12_files(examples: list[bytes]) -> st.SearchStrategy[bytes]:
    """An X12 file: arbitrary bytes, or one of ``examples`` re-encoded (UTF-16 and the
    like), cut into pieces and reassembled, truncated, or spliced with junk."""

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = draw(st.sampled_from(examples))
        how = draw(st.sampled_from(("splice", "drop", "repeat", "encoding", "crlf", "cr")))
        if how == "encoding":
            data = _encode(data.decode("utf-8"), draw(st.sampled_from(ENCODINGS)))
        elif how in ("crlf", "cr"):  # line breaks after (or instead of) terminators
            data = data.replace(b"~\n", b"~\r\n" if how == "crlf" else b"\r")
        else:
            a, b = sorted(draw(st.lists(st.integers(0, len(data)), min_size=2, max_size=2)))
            if how == "splice":
                data = data[:a] + draw(st.binary(max_size=30)) + data[b:]
            elif how == "drop":
                data = data[:a] + data[b:]
            else:
                data = data[:b] + data[a:b] + data[b:]
        return _mangle(draw, data)

    return st.one_of(st.binary(max_size=400), mutated())

