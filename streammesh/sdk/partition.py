"""Where a keyed record goes: Kafka's Java default partitioner, applied to a text of our choice.

librdkafka's `murmur2` partitioner hashes the serialized key, and a product's Avro key starts
with its subject's schema id, which differs between products: two products keyed by the same
customer would land on different partition numbers. Hashing the id's UTF-8 bytes instead keeps
them co-partitioned, as a Java or Kafka Streams producer keying by the plain id would.
"""

from __future__ import annotations

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (the Java client's `Utils.murmur2`), as a signed 32-bit int."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    end = length - length % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[end + 2] << 16
    if rest >= 2:
        h ^= data[end + 1] << 8
    if rest >= 1:
        h ^= data[end]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_of(text: str, partitions: int) -> int:
    """The partition Java's default partitioner picks for a record keyed by `text`'s UTF-8."""
    if partitions < 1:
        raise ValueError("a topic has at least one partition")
    return (murmur2(text.encode()) & 0x7FFFFFFF) % partitions
