"""Identities shared by ingest, the engines and the reports: match groups and output ids.

A match group is the set of records whose key fields (docs/domain.md §4.2) are identical; only
records of one group can ever match, so the group key is both the partition key and the
unit of re-pairing. Times are hashed in their UTC ISO form, so two offsets naming the same
instant fall into the same group.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

SEP = "\x1f"  # cannot occur in CSV field values we key on


def digest(*parts: object, size: int = 32) -> str:
    """A deterministic id from business identity (hex SHA-256, truncated)."""
    text = SEP.join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size]


def group_key(
    buyer: str, seller: str, product: str, delivery_start: str, delivery_end: str, currency: str
) -> str:
    return digest("group", buyer, seller, product, delivery_start, delivery_end, currency)


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def normalize_instant(text: str) -> str:
    """Ingest's view of a time field: its UTC ISO form when it parses, else the text as is
    (the agents dead-letter it; keying must never fail)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    return utc_text(parsed) if parsed.tzinfo is not None else text


def pair_id(trade_id: str, trade_version: int, confirm_id: str, confirm_version: int) -> str:
    return digest("pair", trade_id, trade_version, confirm_id, confirm_version)
