"""The ERP target's pure parts: backoff with full jitter and Retry-After, idempotency keys,
which entries a batch posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from streams.delivery.erp import RecentIds, backoff, idempotency_key, retry_after_seconds, to_post
from streams.delivery.target import Entry

pytestmark = pytest.mark.unit


def entry(entry_id: str, partition: int = 0, offset: int = 0) -> Entry:
    return Entry("recon.ledger", partition, offset, {"entry_id": entry_id})


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 8])
def test_full_jitter_spans_zero_to_the_capped_exponential(attempt: int) -> None:
    ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
    kw = {"base": 2.0, "cap": 60.0, "jitter": 5.0}
    assert backoff(attempt, None, rng=lambda: 0.0, **kw) == 0.0
    assert backoff(attempt, None, rng=lambda: 0.999999, **kw) == pytest.approx(ceiling, rel=1e-5)


def test_retry_after_is_a_floor_spread_by_the_jitter() -> None:
    kw = {"base": 2.0, "cap": 60.0, "jitter": 5.0}
    assert backoff(1, 7.0, rng=lambda: 0.0, **kw) == 7.0
    assert backoff(1, 7.0, rng=lambda: 0.5, **kw) == 9.5


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_the_key_depends_on_the_entry_ids_not_their_order() -> None:
    a, b, c = entry("a"), entry("b"), entry("c")
    assert idempotency_key([a, b]) == idempotency_key([b, a])
    assert idempotency_key([a, b]) != idempotency_key([a, c])
    assert idempotency_key([a]) != idempotency_key([a, b])


def test_a_batch_posts_each_id_once_in_position_order_less_recent_ones() -> None:
    recent = RecentIds(capacity=2)
    recent.add(["old", "x"])
    batch = [entry("b", 1, 5), entry("a", 0, 9), entry("b", 1, 6), entry("x", 0, 1)]
    assert [e.entry_id for e in to_post(batch, recent)] == ["a", "b"]
    recent.add(["y"])  # capacity 2: "old" is forgotten
    assert "old" not in recent and "x" in recent and "y" in recent
