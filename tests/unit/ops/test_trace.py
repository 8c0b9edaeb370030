from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from streams.accrual.engine import EntryKind, Posting, posting_from_json, posting_to_json
from streams.ops.trace import Hop, matches

pytestmark = pytest.mark.unit


def test_a_trace_includes_replays_of_the_record_but_not_other_lines() -> None:
    assert matches("run1:7", "run1:7")
    assert matches("replay-abc:run1:7", "run1:7")
    assert not matches("run1:17", "run1:7")
    assert not matches("redrive-abc:run1:7", "run1:7")  # redrives are keyed by dlq id
    assert not matches("run1:7", "replay-abc:run1:7")


def test_hop_line_names_position_time_and_trace() -> None:
    hop = Hop(
        "outcome", "p.outcomes", 3, 41, datetime(2026, 3, 1, 10, 0, tzinfo=UTC), "run1:7",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "outcome=applied",
    )
    assert hop.line() == (
        "outcome   p.outcomes[3]@41  2026-03-01T10:00:00.000+00:00  outcome=applied  "
        "traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    )


def test_posting_rows_carry_trace_context_and_read_old_rows_without_it() -> None:
    p = Posting(
        "e1", "A1", "V1", "2026-03", EntryKind.ACCRUAL, Decimal("1.25"), "USD", Decimal(5),
        Decimal("1.25"), "k", "pos.csv", 3, "run1:3",
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ingested_at="2026-03-01T10:00:00.000000Z",
    )
    doc = posting_to_json(p)
    assert posting_from_json(doc) == p
    old = {k: v for k, v in doc.items() if k not in ("traceparent", "ingested_at")}
    restored = posting_from_json(old)
    assert (restored.traceparent, restored.ingested_at) == ("", "")
    assert restored.amount == Decimal("1.25")
