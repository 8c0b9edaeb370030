"""The dedupe horizon: how long the dedupe marks of sales are kept, and the rule that makes
dropping them safe.

A mark is what makes a second copy of a sale a duplicate. Once it is purged, a copy would
be applied again (a double count), so the horizon is a rule on the sale's **business
date**, not on the age of the mark: a sale whose UTC day is before ``today - days`` and
whose mark is gone is refused (DLQ ``invalid_value``), never applied. Marks are purged only
``PURGE_MARGIN_DAYS`` after they fall out of the horizon, so a worker whose clock is behind
the purging worker's (a partition moved after a rebalance) still refuses those sales while
their marks are being deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from streams.domain.state import decode
from streams.errors import Category, RecordError, Stage

PURGE_MARGIN_DAYS = 7
MARK_PREFIX = b"d:"  # state.dedupe_key: marks sort together, so a purge seeks to them
MARK_DAY = "day"  # the sale's UTC day in its mark; marks without one are kept forever
MARK_SKU = "sku"  # the sale's SKU and quantity in its mark: what claims check (docs/claims.md)
MARK_QTY = "qty"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DedupeHorizon:
    """``days`` > 0; "today" comes from ``clock`` (the worker's wall clock, injectable)."""

    days: int
    clock: Clock = utc_now

    def __post_init__(self) -> None:
        if self.days <= 0:
            raise ValueError(f"dedupe horizon must be > 0 days, got {self.days}")

    def today(self) -> date:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError(f"the horizon clock returned a naive datetime {now.isoformat()}")
        return now.astimezone(UTC).date()

    def oldest_day(self) -> date:
        """The oldest sale day still accepted."""
        return self.today() - timedelta(days=self.days)

    def purge_before(self) -> date:
        """Marks of sales dated before this day are purged."""
        return self.oldest_day() - timedelta(days=PURGE_MARGIN_DAYS)

    def refusal(self, sold_at: datetime, what: str) -> RecordError:
        """Why a sale beyond the horizon (older than ``oldest_day``) is refused."""
        oldest = self.oldest_day()
        return RecordError(
            Category.INVALID_VALUE,
            Stage.VALIDATE,
            f"{what}: field sold_at='{sold_at.isoformat()}': the sale is older than the "
            f"dedupe horizon of {self.days} days (oldest day accepted {oldest.isoformat()}); "
            "its duplicate mark may have been purged; raise RECON_DEDUPE_HORIZON_DAYS and "
            "redrive if it is genuine",
            field="sold_at",
            value=sold_at.isoformat(),
        )


def horizon_of(days: int, clock: Clock = utc_now) -> DedupeHorizon | None:
    """The horizon of the ``dedupe_horizon_days`` setting; None (0) keeps marks forever."""
    return DedupeHorizon(days, clock) if days > 0 else None


def mark_expired(value: bytes, before: date) -> bool:
    """True for a sale's mark dated before ``before``. Agreement marks and marks written
    before the horizon existed carry no day: they are kept."""
    day = decode(value).get(MARK_DAY)
    return isinstance(day, str) and day < before.isoformat()


def expired_marks(items: Iterable[tuple[bytes, bytes]], before: date) -> Iterator[bytes]:
    """The keys of the dedupe marks among ``items`` that are beyond ``before``."""
    for key, value in items:
        if key.startswith(MARK_PREFIX) and mark_expired(value, before):
            yield key
