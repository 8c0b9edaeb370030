"""W3C trace context (``traceparent``) for Kafka headers: one span per hop.

Ingest starts a trace per record; every output a hop produces (outcome, DLQ record,
agreement, ledger entry) carries the same trace id with a new span id, so a tracing
backend (or ``recon trace``) can stitch raw → decision → ledger together.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


@dataclass(frozen=True)
class TraceParent:
    trace_id: str
    span_id: str
    flags: str = "01"

    def __str__(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def _random_hex(nbytes: int, zero: str) -> str:
    while True:  # all-zero ids are invalid per W3C; p = 2**-64, so this loops once
        value = random.randbytes(nbytes).hex()  # not for security: ids need only be unique
        if value != zero:
            return value


def parse(text: str | None) -> TraceParent | None:
    """The trace context of a ``traceparent`` header, or None if absent or malformed."""
    match = _TRACEPARENT.match(text or "")
    if match is None or match[1] == _ZERO_TRACE or match[2] == _ZERO_SPAN:
        return None
    return TraceParent(match[1], match[2], match[3])


def new_traceparent() -> str:
    """A sampled traceparent with a fresh random trace id and span id."""
    return str(TraceParent(_random_hex(16, _ZERO_TRACE), _random_hex(8, _ZERO_SPAN)))


def _seeded_span(seed: str) -> str:
    span = hashlib.sha256(seed.encode()).hexdigest()[:16]
    return span if span != _ZERO_SPAN else "0" * 15 + "1"


def child_of(text: str | None, seed: str | None = None) -> str:
    """The traceparent of the next hop: same trace and flags, new span id (derived from
    ``seed`` when given, so a republished output is byte-identical). A missing or
    malformed parent starts a new trace rather than propagating garbage."""
    parent = parse(text)
    if parent is None:
        return new_traceparent()
    span = _random_hex(8, _ZERO_SPAN) if seed is None else _seeded_span(f"{seed}:{parent}")
    return str(TraceParent(parent.trace_id, span, parent.flags))


def seconds_since(iso: str | None, now: datetime | None = None) -> float | None:
    """Seconds from an ISO 8601 timestamp (the ``recon-ingested-at`` header) to now, or
    None when it is missing or unreadable (records published by other tools)."""
    if not iso:
        return None
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if then.tzinfo is None:
        return None
    return max(0.0, ((now or datetime.now(UTC)) - then).total_seconds())
