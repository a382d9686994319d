"""The domains' products apply to a real broker and registry with the SDK, as the generators
apply them: topics as their descriptors say, the catalog knows them, and records the SDK
producer writes, placed by customer id, decode with any Confluent-compatible reader."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from confluent_kafka.schema_registry import SchemaRegistryClient

from domains.customers.generator import DESCRIPTOR as PROFILES
from domains.sales.generator import DESCRIPTOR as ORDERS
from domains.sales.generator import SalesConfig, iter_orders
from streammesh.products.loader import load_descriptor
from streammesh.sdk import Mesh, partition_of
from streammesh.serde import AvroDeserializer
from streammesh.settings import MeshSettings
from tests.conftest import RegistryFactory

pytestmark = pytest.mark.integration

MARKETING = Path(__file__).resolve().parents[3] / "domains" / "marketing" / "products"
DESCRIPTORS = [
    ORDERS,
    PROFILES,
    MARKETING / "customer_lifetime_value.yaml",
    MARKETING / "cltv_by_segment.yaml",
]


def sdk_mesh(bootstrap_servers: str, registry_url: str) -> Mesh:
    return Mesh(MeshSettings(bootstrap_servers=bootstrap_servers, registry_url=registry_url))


@pytest.fixture
def applied(
    bootstrap_servers: str, admin: AdminClient, registry_factory: RegistryFactory
) -> Iterator[str]:
    """The four products applied; their (canonical) topics are deleted afterwards."""
    registry_url = registry_factory()
    try:
        with sdk_mesh(bootstrap_servers, registry_url) as mesh:
            for descriptor in DESCRIPTORS:
                mesh.apply_product(descriptor)
        yield registry_url
    finally:
        names = [load_descriptor(d).ref for d in DESCRIPTORS]
        existing = [n for n in names if n in admin.list_topics(timeout=10).topics]
        if existing:
            for future in admin.delete_topics(existing, operation_timeout=30).values():
                future.result(timeout=30)


def test_products_apply_with_their_topics_and_catalog_entries(
    applied: str, admin: AdminClient
) -> None:
    topics = admin.list_topics(timeout=10).topics
    for file in DESCRIPTORS:
        descriptor = load_descriptor(file)
        assert len(topics[descriptor.ref].partitions) == descriptor.topic.partitions
        resource = ConfigResource(ResourceType.TOPIC, descriptor.ref)
        config = admin.describe_configs([resource])[resource].result(timeout=30)
        assert config["cleanup.policy"].value == descriptor.topic.cleanup_policy.value
        url = f"{applied}/products/{descriptor.domain}/{descriptor.name}"
        assert httpx.get(url, timeout=10).status_code == 200
    # applying again changes nothing and does not fail
    with sdk_mesh(admin_bootstrap(admin), applied) as mesh:
        mesh.apply_product(ORDERS)


def admin_bootstrap(admin: AdminClient) -> str:
    broker = next(iter(admin.list_topics(timeout=10).brokers.values()))
    return f"{broker.host}:{broker.port}"


def test_orders_written_with_the_registered_schema_decode(
    applied: str, bootstrap_servers: str
) -> None:
    events = list(itertools.islice(iter_orders(SalesConfig(seed=3, customers=20)), 50))
    with sdk_mesh(bootstrap_servers, applied) as mesh, mesh.producer("sales.orders.v1") as orders:
        for event in events:
            orders.publish(event.value, key=event.key, partition_by=event.key)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "products-test",
            "enable.auto.commit": False,
        }
    )
    registry = SchemaRegistryClient({"url": applied})
    decode = AvroDeserializer(registry)
    try:
        consumer.assign([TopicPartition("sales.orders.v1", p, 0) for p in range(6)])
        seen: dict[str, object] = {}
        for _ in range(100):
            for message in consumer.consume(num_messages=100, timeout=0.5):
                value = decode(message.value())
                assert isinstance(value, dict)
                # placed by the id's murmur2, as a Java producer keyed by the plain id would
                assert message.partition() == partition_of(str(value["customer_id"]), 6)
                assert decode(message.key()) == value["customer_id"]
                seen[str(value["order_id"]) + str(value["status"])] = value
            if len(seen) >= len({(e.value["order_id"], e.value["status"]) for e in events}):
                break
        assert len(seen) == len({(e.value["order_id"], e.value["status"]) for e in events})
    finally:
        consumer.close()
        registry.close()
