"""Reading the dead-letter topic: list (with filters), find one record, show it as text."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE

from streams.errors import ReconError
from streams.formats import avro
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

# Added to each decoded record: when it was dead-lettered (the DLQ message's timestamp).
DEAD_LETTERED_AT = "dead_lettered_at"


class DlqLookupError(ReconError):
    """No DLQ record (or more than one) matches the id given."""


def dlq_records(
    settings: Settings, category: str | None = None, *, since: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Distinct DLQ records (a record reprocessed after a crash is dead-lettered with the
    same deterministic dlq_id), oldest first, optionally of one category and dead-lettered
    at or after ``since``. Each carries ``dead_lettered_at`` besides its Avro fields."""
    seen: set[str] = set()
    for msg in read_topic(settings, settings.topic(t.DLQ)):
        rec = avro.decode("dlq_record", msg.value() or b"")
        if rec["dlq_id"] in seen or (category is not None and rec["category"] != category):
            continue
        kind, millis = msg.timestamp()
        at = (
            datetime.fromtimestamp(millis / 1000, UTC)
            if kind != TIMESTAMP_NOT_AVAILABLE
            else rec["first_seen"]
        )
        if since is not None and at < since:
            continue
        seen.add(rec["dlq_id"])
        rec[DEAD_LETTERED_AT] = at
        yield rec


def find_dlq_record(settings: Settings, dlq_id: str) -> dict[str, Any]:
    """The DLQ record whose id is ``dlq_id`` or starts with it (a unique prefix)."""
    wanted = dlq_id.strip().lower()
    if not wanted:
        raise DlqLookupError("give a DLQ id (see `recon dlq list`)")
    found = [r for r in dlq_records(settings) if r["dlq_id"].startswith(wanted)]
    exact = [r for r in found if r["dlq_id"] == wanted]
    if exact:
        return exact[0]
    if not found:
        raise DlqLookupError(f"no DLQ record with id {dlq_id!r} (see `recon dlq list`)")
    if len(found) > 1:
        ids = ", ".join(r["dlq_id"] for r in found[:5])
        raise DlqLookupError(f"DLQ id prefix {dlq_id!r} is ambiguous: {ids}")
    return found[0]


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_bytes(raw: bytes) -> str:
    """``raw`` as readable text: valid UTF-8 stays as it is, except backslash, control and
    other unprintable characters, which are escaped (``\\n``, ``\\x00``, ``\\u200b``), and
    bytes that are not UTF-8, shown as ``\\xNN``. Unambiguous: escapes can be told from text."""
    out: list[str] = []
    for ch in raw.decode("utf-8", errors="surrogateescape"):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif unicodedata.category(ch)[0] in "CZ" and ch != " ":
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def escape_text(text: str) -> str:
    """``text`` with control and other unprintable characters escaped, as escape_bytes."""
    return escape_bytes(text.encode("utf-8", "surrogateescape"))


# `recon dlq list`: the fields of each record, in order (json and csv hold them all).
LIST_FIELDS = (
    "dlq_id",
    "category",
    "stage",
    "attempts",
    DEAD_LETTERED_AT,
    "source_file",
    "source_line",
    "source_topic",
    "source_partition",
    "source_offset",
    "error",
    "redriven",
)


def list_row(rec: dict[str, Any], redriven: bool) -> dict[str, object]:
    """One DLQ record as `recon dlq list` shows it: LIST_FIELDS, times in ISO 8601 UTC."""
    row: dict[str, object] = {name: rec.get(name) for name in LIST_FIELDS}
    row[DEAD_LETTERED_AT] = rec[DEAD_LETTERED_AT].astimezone(UTC).isoformat()
    row["redriven"] = redriven
    return row


FIELD_ORDER = (
    "dlq_id",
    "category",
    "severity",
    "stage",
    "field",
    "error",
    "source_topic",
    "source_partition",
    "source_offset",
    "source_file",
    "source_line",
    "file_sha256",
    "record_format",
    "correlation_id",
    "first_seen",
    DEAD_LETTERED_AT,
    "attempts",
)


def describe(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """Every field of a DLQ record as (name, text): the scalar fields, then the original
    key and bytes (escaped), then one row per original header."""
    rows: list[tuple[str, str]] = []
    for name in FIELD_ORDER:
        value = rec.get(name)
        if isinstance(value, datetime):
            text = value.isoformat()
        elif value is None:
            text = "-"
        else:
            text = str(value)
        rows.append((name, text))
    key = rec.get("original_key")
    rows.append(("original_key", "-" if key is None else escape_bytes(bytes(key))))
    original = bytes(rec.get("original") or b"")
    rows.append(("original", escape_bytes(original)))
    rows.append(("original_size", f"{len(original)} bytes"))
    for name, value in sorted((rec.get("original_headers") or {}).items()):
        rows.append((f"header {name}", escape_bytes(value.encode("utf-8", "surrogateescape"))))
    return rows
