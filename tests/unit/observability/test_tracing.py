from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.observability.tracing import child_of, new_traceparent, parse, seconds_since

pytestmark = pytest.mark.unit

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_child_keeps_trace_and_flags_with_a_new_span() -> None:
    children = {child_of(PARENT) for _ in range(100)}
    assert len(children) == 100
    for child in children:
        tp = parse(child)
        assert tp is not None
        assert (tp.trace_id, tp.flags) == ("4bf92f3577b34da6a3ce929d0e0e4736", "01")
        assert tp.span_id != "00f067aa0ba902b7"


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "garbage",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # unknown version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero span id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
    ],
)
def test_malformed_parents_start_a_new_trace(bad: str | None) -> None:
    assert parse(bad) is None
    child = parse(child_of(bad))
    assert child is not None and child.trace_id != "4bf92f3577b34da6a3ce929d0e0e4736"


def test_new_traceparents_are_valid_and_distinct() -> None:
    parents = [parse(new_traceparent()) for _ in range(200)]
    assert all(p is not None and p.flags == "01" for p in parents)
    assert len({p.trace_id for p in parents if p}) == 200


def test_seconds_since_ingest_header() -> None:
    now = datetime(2026, 3, 1, 12, 0, 10, 500000, tzinfo=UTC)
    assert seconds_since("2026-03-01T12:00:00.000000Z", now) == 10.5
    assert seconds_since("2026-03-01T12:00:20Z", now) == 0.0  # clock skew: never negative
    for unusable in (None, "", "yesterday", "2026-03-01T12:00:00"):  # no offset: ambiguous
        assert seconds_since(unusable, now) is None


def test_seeded_children_are_deterministic_per_seed_and_parent() -> None:
    a = child_of(PARENT, seed="entry-1")
    assert a == child_of(PARENT, seed="entry-1")  # a re-relayed ledger entry is identical
    assert a != child_of(PARENT, seed="entry-2")
    other_parent = PARENT.replace("00f067aa0ba902b7", "00f067aa0ba902b8")
    assert a != child_of(other_parent, seed="entry-1")
    tp = parse(a)
    assert tp is not None and tp.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
