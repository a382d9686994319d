"""What the generators, tests and benchmarks publish with: `Mesh.apply_product` applies one
descriptor file; `partition_by` places a record where Kafka's Java partitioner places its plain
id; a producer writing to a copy of a product's topic still writes the product's schema ids;
`on_invalid="send"` lets records that break rules (but fit the schema) through."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from streammesh.products.loader import load_descriptor
from streammesh.sdk import ContractViolation, Mesh, Outcome, Published, partition_of
from streammesh.serde import AvroDeserializer
from tests.conftest import TopicFactory
from tests.integration.sdk.workspace import Workspace, order, read_messages

pytestmark = pytest.mark.integration

ORDERS = "sales/products/orders.yaml"


def _decode(registry_url: str, messages: list[Message]) -> list[dict[str, Any]]:
    with SchemaRegistryClient({"url": registry_url}) as client:
        decode = AvroDeserializer(client)
        values = [decode(m.value()) for m in messages]
    assert all(isinstance(v, dict) for v in values)
    return [v for v in values if isinstance(v, dict)]


def test_apply_product_makes_the_topics_and_the_catalog_entry_idempotently(
    mesh: Mesh, workspace: Workspace, admin: AdminClient
) -> None:
    path = workspace.descriptor(ORDERS)
    descriptor = load_descriptor(path)
    product = mesh.apply_product(path)
    assert product.ref == descriptor.ref
    topics = admin.list_topics(timeout=10).topics
    assert len(topics[descriptor.topic.name].partitions) == descriptor.topic.partitions
    assert f"{descriptor.topic.name}.dlq" in topics
    assert mesh.apply_product(path).value_schema_id == product.value_schema_id


def test_partition_by_places_each_record_by_its_ids_murmur2(
    mesh: Mesh, workspace: Workspace, bootstrap_servers: str, registry_url: str, group_id: str
) -> None:
    ref = mesh.apply_product(workspace.descriptor(ORDERS)).ref
    customers = [f"customer-{n}" for n in range(30)]
    with mesh.producer(ref) as producer:
        for customer in customers:
            producer.publish(order(customer_id=customer), key=customer, partition_by=customer)
    messages = read_messages(bootstrap_servers, producer.topic, group_id, len(customers))
    values = _decode(registry_url, messages)
    assert sorted(v["customer_id"] for v in values) == sorted(customers)
    for message, value in zip(messages, values, strict=True):
        assert message.partition() == partition_of(value["customer_id"], 6)
    assert len({m.partition() for m in messages}) > 1


def test_a_copy_of_the_topic_carries_the_products_schema_ids_and_send_lets_bad_records_out(
    mesh: Mesh,
    workspace: Workspace,
    topic_factory: TopicFactory,
    bootstrap_servers: str,
    registry_url: str,
    group_id: str,
) -> None:
    product = mesh.apply_product(workspace.descriptor(ORDERS), topics=False)
    copy = topic_factory(partitions=3)
    with mesh.producer(product.ref, topic=copy, on_invalid="send") as producer:
        assert producer.publish(order(), key="c-1", partition_by="c-1") == Published(Outcome.SENT)
        assert producer.publish(order(order_id="o-2", currency="eur")).outcome is Outcome.SENT
        with pytest.raises(ContractViolation, match="amount"):
            producer.publish(order(amount="twelve"))  # the wire format needs the schema
    messages = read_messages(bootstrap_servers, copy, group_id, 2)
    assert {(m.value() or b"")[1:5] for m in messages} == {
        product.value_schema_id.to_bytes(4, "big")
    }
    assert sorted(v["currency"] for v in _decode(registry_url, messages)) == ["EUR", "eur"]
    placed = next(m for m in messages if m.key() is not None)
    assert placed.partition() == partition_of("c-1", 3)
    with (
        pytest.raises(ContractViolation, match="currency_iso_4217"),
        mesh.producer(product.ref, topic=copy) as checked,
    ):
        checked.publish(order(currency="eur"))
