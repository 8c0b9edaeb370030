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


def days_key(vendor: str, sku: str) -> str:
    return f"k:{vendor}{SEP}{sku}"


def agreement_key(agreement_id: str) -> str:
    return f"a:{agreement_id}"


def posting_key(agreement_id: str, period: str) -> str:
    return f"p:{agreement_id}{SEP}{period}"
