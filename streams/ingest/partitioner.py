"""Record keys for co-partitioning: a vendor's sales and agreements share a partition number.

The key is the vendor id; the partitioner is librdkafka's ``murmur2_random``, which is
Java's murmur2 for keyed records, so Java/Faust clients and this producer agree, and equal
partition counts on both raw topics put one vendor on the same partition number in each.
"""

from __future__ import annotations

import hashlib

from streams.ingest.csv_source import field_at

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
