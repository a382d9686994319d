"""A record placed `partition_by` a text lands where Kafka's Java default partitioner puts a
record keyed by that text's UTF-8 bytes, so products keyed by the same id are co-partitioned."""

from __future__ import annotations

import pytest

from streammesh.sdk.partition import murmur2, partition_of


def test_murmur2_matches_kafkas_own_vectors() -> None:
    # vectors from Kafka's own UtilsTest
    assert murmur2(b"21") == -973932308
    assert murmur2(b"foobar") == -790332482
    assert murmur2(b"a-little-bit-long-string") == -985981536
    assert murmur2(b"a-little-bit-longer-string") == -1486304829
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971
    assert murmur2(b"abc") == 479470107


def test_partition_of_is_the_positive_hash_modulo_the_partitions() -> None:
    assert partition_of("21", 6) == (-973932308 & 0x7FFFFFFF) % 6
    assert partition_of("foobar", 1) == 0
    assert {partition_of(f"customer-{n}", 6) for n in range(100)} == set(range(6))


def test_a_topic_has_at_least_one_partition() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        partition_of("21", 0)
