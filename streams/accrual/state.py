"""The key-value state the rebate engine runs on, and its key layout.

In the worker the store is a Faust table on RocksDB (one changelog partition per vendor
partition); in tests it is a dict. Values are small JSON documents.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

SEP = "\x1f"  # cannot occur in CSV field values we key on


class KeyValueState(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class DictState:
    """In-memory state for unit tests and reference runs."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.data.get(key)
        return None if raw is None else decode(raw)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = encode(value)


def encode(value: dict[str, Any]) -> bytes:
    """Compact, keys sorted: one value always encodes to the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def decode(raw: bytes) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(raw)
    return result


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
