"""The rebate engine's key layout in its state table, and the order a record writes them."""

from __future__ import annotations

SEP = "\x1f"  # cannot occur in CSV field values we key on


# The order a record writes its keys in (a sale: mark, days, cell, vendor, postings; an
# agreement: mark, terms, vendor, postings). Write-behind state flushes a batch's keys in
# this order, so a crash part-way through a flush leaves what a crash part-way through one
# record could: a posting row is never durable before the aggregates it was computed from.
WRITE_ORDER = (b"d:", b"k:", b"g:", b"a:", b"v:", b"p:")


def write_rank(key: bytes) -> int:
    prefix = key[:2]
    return WRITE_ORDER.index(prefix) if prefix in WRITE_ORDER else len(WRITE_ORDER)


def dedupe_key(idempotency_key: str) -> str:
    return f"d:{idempotency_key}"


def vendor_key(vendor: str) -> str:
    return f"v:{vendor}"


def cell_key(vendor: str, sku: str, day: str) -> str:
    return f"g:{vendor}{SEP}{sku}{SEP}{day}"


def days_key(vendor: str, sku: str, month: str) -> str:
    """The days of one month (``YYYY-MM``) with sales of a vendor's SKU: one small list per
    month, so a new day rewrites a month's list, not the SKU's whole history."""
    return f"k:{vendor}{SEP}{sku}{SEP}{month}"


def months(first: str, last: str) -> list[str]:
    """``YYYY-MM`` of every month from the day ``first`` to the day ``last`` (ISO dates)."""
    year, month = int(first[:4]), int(first[5:7])
    end = last[:7]
    out = []
    while (label := f"{year:04d}-{month:02d}") <= end:
        out.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def agreement_key(agreement_id: str) -> str:
    return f"a:{agreement_id}"


def posting_key(agreement_id: str, period: str) -> str:
    return f"p:{agreement_id}{SEP}{period}"
