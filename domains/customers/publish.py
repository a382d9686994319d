"""Publishing a domain's products: apply a descriptor, partition by customer, pace a stream.

Both generators key their records by customer id and place them by the murmur2 hash of the id's
UTF-8 bytes (Kafka's Java default partitioner applied to the id), not of the serialized Avro
key: the key's wire bytes carry the subject's schema id, which differs between products, so
hashing them would split a customer's orders and profile across partition numbers. Placing by
the id keeps `sales.orders.v1` and `customers.profiles.v1` co-partitioned, which the marketing
processor relies on.

These helpers stand in for the platform SDK's producer until it lands.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

from streammesh.products.descriptor import Descriptor
from streammesh.products.loader import load_descriptor
from streammesh.serde import AvroSerializer
from streammesh.settings import registry_client_config, registry_http_auth

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

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


def customer_partition(customer_id: str, partitions: int) -> int:
    """The partition of a customer's records: Java's default partitioner on the id's bytes."""
    return (murmur2(customer_id.encode()) & 0x7FFFFFFF) % partitions


def read_descriptor(relative: str) -> Descriptor:
    return load_descriptor(REPO_ROOT / relative)


def ensure_topic(admin: AdminClient, name: str, descriptor: Descriptor) -> None:
    """Create the product's topic as its descriptor says, unless it exists."""
    config = {
        "cleanup.policy": descriptor.topic.cleanup_policy.value,
        "retention.ms": str(descriptor.topic.retention_ms),
    }
    topic = NewTopic(name, num_partitions=descriptor.topic.partitions, config=config)
    try:
        admin.create_topics([topic], operation_timeout=30)[name].result(timeout=30)
    except KafkaException as exc:
        if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
            raise


def apply_product(descriptor_file: str, *, bootstrap_servers: str, registry_url: str) -> None:
    """Create the product's topic and register its descriptor and schemas in the catalog."""
    descriptor = read_descriptor(descriptor_file)
    ensure_topic(AdminClient({"bootstrap.servers": bootstrap_servers}), descriptor.ref, descriptor)
    key_schema = descriptor.topic.key_schema
    body = {
        "descriptor": descriptor.model_dump(mode="json", by_alias=True),
        "valueSchema": (REPO_ROOT / descriptor.topic.value_schema).read_text(encoding="utf-8"),
        "keySchema": None if key_schema is None else (REPO_ROOT / key_schema).read_text("utf-8"),
    }
    url = f"{registry_url.rstrip('/')}/products/{descriptor.domain}/{descriptor.name}"
    httpx.put(url, json=body, timeout=30, auth=registry_http_auth()).raise_for_status()


class ProductPublisher:
    """Produce a product's records in the Confluent wire format, placed by customer id."""

    def __init__(
        self,
        descriptor: Descriptor,
        *,
        bootstrap_servers: str,
        registry_url: str,
        topic: str | None = None,
        auto_register_schemas: bool = False,
        linger_ms: int = 5,
    ) -> None:
        self._registry = registry = SchemaRegistryClient(registry_client_config(registry_url))

        def serializer(relative: str | None) -> AvroSerializer:
            if relative is None:
                raise ValueError(f"{descriptor.ref} has no key schema to key records by")
            if auto_register_schemas:
                return AvroSerializer(registry, (REPO_ROOT / relative).read_text("utf-8"))
            # write with the product's registered schema, the one its rules were attached to
            return AvroSerializer(registry, auto_register_schemas=False, use_latest_version=True)

        self.topic = topic or descriptor.ref
        self.partitions = descriptor.topic.partitions
        self._key = serializer(descriptor.topic.key_schema)
        self._value = serializer(descriptor.topic.value_schema)
        self._key_ctx = SerializationContext(self.topic, MessageField.KEY)
        self._value_ctx = SerializationContext(self.topic, MessageField.VALUE)
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "linger.ms": linger_ms,
                "enable.idempotence": True,
            }
        )

    def publish(self, key: str, value: object, timestamp_ms: int | None = None) -> None:
        """Queue one record; `value` None is a tombstone."""
        payload = self._value(value, self._value_ctx)
        key_bytes = self._key(key, self._key_ctx)
        while True:
            try:
                self._producer.produce(
                    self.topic,
                    value=payload,
                    key=key_bytes,
                    partition=customer_partition(key, self.partitions),
                    timestamp=timestamp_ms or 0,  # 0: now
                )
                break
            except BufferError:  # local queue full: let deliveries drain
                self._producer.poll(0.05)
        self._producer.poll(0)

    def flush(self, timeout: float = 60.0) -> None:
        if self._producer.flush(timeout) != 0:
            raise TimeoutError(f"records for {self.topic} still queued after {timeout:.0f}s")

    def close(self) -> None:
        """Flush, then release the registry client's connections."""
        try:
            self.flush()
        finally:
            self._registry.close()


def stamped_now(value: dict[str, object], field: str) -> dict[str, object]:
    """`value` with its event-time `field` set to the wall clock: a live run (the demo) shows
    events happening now, where a replayed history keeps its simulated times."""
    return {**value, field: int(time.time() * 1000)}


def paced(items: Iterable[T], rate: float | None) -> Iterator[T]:
    """Yield `items` at about `rate` per second (all at once when `rate` is None)."""
    if rate is None:
        yield from items
        return
    interval = 1.0 / rate
    started = time.monotonic()
    for index, item in enumerate(items):
        delay = started + index * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield item


def generator_parser(description: str) -> argparse.ArgumentParser:
    """The options every domain generator shares; each adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=None, help="records per second")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--registry-url", default="http://127.0.0.1:8081")
    parser.add_argument("--topic", default=None, help="default: the product's topic")
    parser.add_argument(
        "--live", action="store_true", help="stamp each record's event time with the wall clock"
    )
    parser.add_argument("--apply", action="store_true", help="create and register the product")
    parser.add_argument(
        "--auto-register", action="store_true", help="register the schema under the topic"
    )
    return parser


def publisher_from_args(args: argparse.Namespace, descriptor_file: str) -> ProductPublisher:
    """Apply the product if asked, then a publisher for it, as `generator_parser` configured."""
    if args.apply:
        apply_product(
            descriptor_file,
            bootstrap_servers=args.bootstrap_servers,
            registry_url=args.registry_url,
        )
    return ProductPublisher(
        read_descriptor(descriptor_file),
        bootstrap_servers=args.bootstrap_servers,
        registry_url=args.registry_url,
        topic=args.topic,
        auto_register_schemas=args.auto_register,
    )
