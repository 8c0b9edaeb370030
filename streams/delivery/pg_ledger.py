"""Ledger entries read for PostgreSQL: each Avro body turned straight into its line of
``COPY … FROM STDIN`` text, without building a record.

Decoding a ledger entry with fastavro (a dict of 21 fields, three ``Decimal`` and a
``datetime``) and having psycopg format the row again for COPY was most of the delivery
loop's CPU, about twice the cost of the ``COPY`` it feeds. The body is a fixed sequence of
fields, so it is walked by a function generated from the schema's own description
(``schemas/ledger_entry.avsc``) once, when the target is built: one straight run of
statements per field, no per-field dispatch, which is what makes pure Python faster here
than fastavro's compiled reader building a dict. Strings are copied as they are (escaped
for COPY only if they hold a backslash, tab, CR or LF); a decimal becomes its unscaled
integer with an exponent (``-12345e-2``, which PostgreSQL's numeric input reads exactly);
a timestamp its ISO text. A string that is not UTF-8 or holds a NUL (which no PostgreSQL
text can) makes the body unreadable, a parse error dead-lettered like any other, instead
of a COPY that fails for the whole batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from streams.delivery.target import LEDGER_SCHEMA
from streams.errors import ReconError
from streams.formats import avro

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The record a reader returns: the entry id and the entry's COPY columns, tab-separated,
# without the line's end (the target appends where it was read).
ENTRY_ID = "entry_id"
COPY_LINE = "copy_line"

_NEEDS_CARE = re.compile(rb"[\x00\t\n\r\\\x80-\xff]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class LedgerRowError(ReconError, ValueError):
    """A body that is not a ledger entry this reader can put in a COPY line (the loop
    dead-letters it as a parse error)."""


def _varint(value: bytes, b: int, pos: int) -> tuple[int, int]:
    """The rest of a multi-byte Avro varint whose first byte was ``b`` (zig-zag not undone)."""
    n, shift = b & 0x7F, 7
    while b & 0x80:
        b = value[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
    return n, pos


@lru_cache(maxsize=256)
def _timestamp(micros: int) -> bytes:
    # An entry's created_at is its flush's time, shared by every entry of that flush.
    return (EPOCH + timedelta(microseconds=micros)).isoformat().encode()


def _field_code(
    field: dict[str, Any], place: int, enums: dict[str, tuple[bytes, ...]]
) -> list[str]:
    """The statements reading one field; the column's text into ``c<place>`` (-1: skipped)."""
    name, kind = field["name"], field["type"]
    lines = [
        "b = v[p]; p += 1",
        "if b & 0x80: b, p = _varint(v, b, p)",
        "n = (b >> 1) ^ -(b & 1)",
    ]
    target = f"c{place}"
    logical = kind.get("logicalType") if isinstance(kind, dict) else None
    if kind == "string" or (logical == "decimal" and kind["type"] == "bytes"):
        lines += ["e = p + n", f"if n < 0 or e > size: raise LedgerRowError({name!r})"]
        if place >= 0 and kind == "string":
            lines.append(f"{target} = v[p:e]")
        elif place >= 0:
            scale = int(kind.get("scale", 0))
            lines.append(f"{target} = b'%de-{scale}' % int.from_bytes(v[p:e], 'big', signed=True)")
        lines.append("p = e")
    elif kind in ("long", "int"):
        if place >= 0:
            lines.append(f"{target} = b'%d' % n")
    elif isinstance(kind, dict) and kind["type"] == "enum":
        enums[name] = tuple(s.encode() for s in kind["symbols"])
        lines.append(f"if not 0 <= n < {len(kind['symbols'])}: raise LedgerRowError({name!r})")
        if place >= 0:
            lines.append(f"{target} = _enums[{name!r}][n]")
    elif logical == "timestamp-micros" and kind["type"] == "long":
        if place >= 0:
            lines.append(f"{target} = _timestamp(n)")
    else:
        raise LedgerRowError(f"{LEDGER_SCHEMA} field {name!r}: type {kind!r} not read")
    return lines


@cache
def _walker(columns: tuple[str, ...]) -> Callable[[bytes, int], tuple[bytes, ...]]:
    """A function from a ledger-entry body (starting at the given position of the message,
    after its framing) to the text of ``columns`` (strings raw)."""
    fields = json.loads(avro.schema_text(LEDGER_SCHEMA))["fields"]
    missing = set(columns) - {f["name"] for f in fields}
    if missing:
        raise LedgerRowError(f"{LEDGER_SCHEMA} has no field(s) {sorted(missing)}")
    place = {name: i for i, name in enumerate(columns)}
    enums: dict[str, tuple[bytes, ...]] = {}
    code = ["def walk(v, p):", "    size = len(v)"]
    for f in fields:
        code += ["    " + line for line in _field_code(f, place.get(f["name"], -1), enums)]
    code.append(f"    return ({''.join(f'c{i}, ' for i in range(len(columns)))})")
    scope: dict[str, Any] = {
        "_varint": _varint,
        "_timestamp": _timestamp,
        "_enums": enums,
        "LedgerRowError": LedgerRowError,
    }
    exec("\n".join(code), scope)  # the code is built above from the schema alone
    walk: Callable[[bytes, int], tuple[bytes, ...]] = scope["walk"]
    return walk


def _escaped(pieces: Sequence[bytes], strings: frozenset[int]) -> tuple[bytes, ...]:
    """``pieces`` with each string checked for UTF-8 and NUL and escaped for COPY."""
    out = list(pieces)
    for i in strings:
        text = out[i].decode()  # UnicodeDecodeError: not UTF-8
        if "\x00" in text:
            raise LedgerRowError("a string holds a NUL character")
        out[i] = text.translate(_COPY_ESCAPES).encode()
    return tuple(out)


def copy_reader(columns: tuple[str, ...]) -> Callable[[bytes], dict[str, Any]]:
    """A Reader of ledger-entry bodies for a COPY of ``columns`` (the schema's names): the
    record it returns holds the entry id and the line's text without its end."""
    walk = _walker(columns)
    fields = {f["name"]: f["type"] for f in json.loads(avro.schema_text(LEDGER_SCHEMA))["fields"]}
    strings = frozenset(i for i, name in enumerate(columns) if fields[name] == "string")
    entry_id_at = columns.index(ENTRY_ID)

    def read(value: bytes) -> dict[str, Any]:
        # Single-object or registry framing, or a bare body of an earlier release
        # (docs/data-contract.md); an older schema version's entry is first resolved to
        # the current schema, whose layout the walker follows.
        writer, start = avro.writer_of(LEDGER_SCHEMA, value)
        if writer is not None:
            value, start = avro.body(LEDGER_SCHEMA, avro.decode(LEDGER_SCHEMA, value)), 0
        try:
            pieces = walk(value, start)
        except IndexError as exc:
            raise LedgerRowError("the body ends inside a field") from exc
        entry_id = pieces[entry_id_at].decode()
        # Only strings can hold what needs care; the other columns are digits and ISO text.
        if _NEEDS_CARE.search(b"".join(pieces)):
            pieces = _escaped(pieces, strings)
        return {ENTRY_ID: entry_id, COPY_LINE: b"\t".join(pieces)}

    return read
