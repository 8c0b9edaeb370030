"""Kafka's murmur2: the partition a chunk of several keys' records is sent to explicitly
must be the one the partitioner gives each key (so sales meet their agreements)."""

from __future__ import annotations

import pytest

from streams.kafka.partitioner import keyer, murmur2, partition_of

pytestmark = pytest.mark.unit

# The Java client's own vectors (clients/src/test/java/org/apache/kafka/common/utils/
# UtilsTest.java, testMurmur2), as signed 32-bit integers.
JAVA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "signed"), JAVA_VECTORS.items())
def test_murmur2_is_the_java_clients(key: bytes, signed: int) -> None:
    assert murmur2(key) == signed & 0xFFFFFFFF


def test_partition_of_is_the_positive_hash_modulo_the_partitions() -> None:
    assert partition_of(b"21", 6) == (-973932308 & 0x7FFFFFFF) % 6
    assert {partition_of(f"V{n:04d}".encode(), 6) for n in range(100)} == set(range(6))


def test_inventory_rows_are_keyed_by_their_normalised_asset() -> None:
    key_of = keyer("inventory", ["grant_code", "asset_id", "quantity"])
    assert key_of(b" nih-r01 , MS-1 ,3") == b"MS-1:NIH-R01"
    assert key_of(b"NIH-R01,MS-1,3") == b"MS-1:NIH-R01"
    assert len(key_of(b",,3")) == 64  # unreadable: its SHA-256, dead-lettered downstream
    assert len(keyer("inventory", ["a", "b"])(b"x,y")) == 64
