"""Accrual periods: calendar month, calendar quarter, or the whole agreement window."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

AGREEMENT_PERIOD = "agreement"


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    AGREEMENT = "agreement"


def period_of(day: date, kind: PeriodKind) -> str:
    """Label of the period containing ``day``: ``2026-03``, ``2026-Q1`` or ``agreement``."""
    if kind is PeriodKind.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    if kind is PeriodKind.QUARTER:
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return AGREEMENT_PERIOD


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def period_bounds(label: str, start: date, end: date) -> tuple[date, date]:
    """The days of ``label`` that fall inside the window ``[start, end]`` (inclusive)."""
    if label == AGREEMENT_PERIOD:
        return start, end
    year = int(label[:4])
    if label[5] == "Q":
        quarter = int(label[6])
        first = date(year, 3 * quarter - 2, 1)
        last = _month_end(year, 3 * quarter)
    else:
        month = int(label[5:7])
        first = date(year, month, 1)
        last = _month_end(year, month)
    return max(first, start), min(last, end)


def periods_in_window(start: date, end: date, kind: PeriodKind) -> list[str]:
    """Every period label that overlaps ``[start, end]``, in order."""
    if kind is PeriodKind.AGREEMENT:
        return [AGREEMENT_PERIOD]
    labels: list[str] = []
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        label = period_of(date(year, month, 1), kind)
        if not labels or labels[-1] != label:
            labels.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels
