"""Record keys for co-partitioning: a vendor's sales and agreements share a partition number,
and so do the trades and confirmations that can match (same key fields, docs/domain.md §4.2).

The key is the vendor id, or for trades and confirmations the match group key (a hash of
buyer, seller, product, delivery start and end in UTC, and currency); the partitioner is
librdkafka's ``murmur2_random``, which is Java's murmur2 for keyed records, so Java/Faust
clients and this producer agree, and equal partition counts on two raw topics put one key
on the same partition number in each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from streams.domain.models.keys import group_key, normalize_instant
from streams.domain.threeway.summary import carrier_key
from streams.formats.csv_source import field_at

KEY_COLUMN = "vendor_id"
PARTITIONER = "murmur2_random"


def key_index(columns: list[str]) -> int | None:
    """Position of the key column in the header, None when the header lacks it."""
    return columns.index(KEY_COLUMN) if KEY_COLUMN in columns else None


def record_key(raw: bytes, index: int | None) -> bytes:
    """The vendor id (UTF-8), or when it cannot be read the record's hex SHA-256.

    Hashing spreads unreadable records over partitions instead of piling them on one;
    they are dead-lettered downstream, never dropped here.
    """
    vendor = None if index is None else field_at(raw, index)
    if vendor is not None:
        return vendor.encode()
    return hashlib.sha256(raw).hexdigest().encode()


GROUP_COLUMNS = ("buyer", "seller", "product", "delivery_start", "delivery_end", "currency")
TIME_COLUMNS = {3, 4}  # positions in GROUP_COLUMNS of the delivery instants


def group_record_key(raw: bytes, indexes: list[int] | None) -> bytes:
    """The match group key of a raw trade or confirmation, or its SHA-256 if unreadable."""
    texts: list[str] = []
    for n, index in enumerate(indexes or []):
        value = field_at(raw, index)
        if value is None:
            break
        texts.append(normalize_instant(value) if n in TIME_COLUMNS else value)
    if indexes is None or len(texts) != len(indexes):
        return hashlib.sha256(raw).hexdigest().encode()
    return group_key(*texts).encode()


def asset_record_key(raw: bytes, indexes: tuple[int, int] | None) -> bytes:
    """``asset_id:GRANT_CODE`` of a raw inventory row (trimmed, the grant code upper case,
    as validation normalises them), or its SHA-256 if unreadable."""
    if indexes is not None:
        asset, grant = field_at(raw, indexes[0]), field_at(raw, indexes[1])
        if asset is not None and grant is not None:
            return f"{asset}:{grant.upper()}".encode()
    return hashlib.sha256(raw).hexdigest().encode()


def keyer(kind: str, columns: list[str]) -> Callable[[bytes], bytes]:
    """The record-key function of one ingest kind, given the file's header columns."""
    if kind == "inventory":
        pair = (
            (columns.index("asset_id"), columns.index("grant_code"))
            if "asset_id" in columns and "grant_code" in columns
            else None
        )
        return lambda raw: asset_record_key(raw, pair)
    if kind in ("trades", "confirmations"):
        indexes = (
            [columns.index(c) for c in GROUP_COLUMNS]
            if all(c in columns for c in GROUP_COLUMNS)
            else None
        )
        return lambda raw: group_record_key(raw, indexes)
    if kind == "rates":
        scac = columns.index("scac") if "scac" in columns else None
        return lambda raw: carrier_record_key(raw, scac)
    index = key_index(columns)
    return lambda raw: record_key(raw, index)


def carrier_record_key(raw: bytes, index: int | None) -> bytes:
    """A rate row's carrier key (the key of the carrier's 210s), or its SHA-256."""
    scac = None if index is None else field_at(raw, index)
    if scac:
        return carrier_key(scac).encode()
    return hashlib.sha256(raw).hexdigest().encode()


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (Java client's ``Utils.murmur2``, librdkafka's ``rd_murmur2``),
    as an unsigned 32-bit integer."""
    m, length = 0x5BD1E995, len(data)
    h = 0x9747B28C ^ length
    end = length & ~3
    for i in range(0, end, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * m) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    extra = length & 3
    if extra == 3:
        h ^= data[end + 2] << 16
    if extra >= 2:
        h ^= data[end + 1] << 8
    if extra >= 1:
        h = ((h ^ data[end]) * m) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition ``murmur2_random`` gives a non-empty key: what a producer that
    publishes several keys' records in one message must choose explicitly."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
