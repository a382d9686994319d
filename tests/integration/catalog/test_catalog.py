"""The catalog governs, registers and relates real products on a real registry and Kafka."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.schema_registry.rules.cel.cel_field_executor import CelFieldExecutor
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from streammesh.products.loader import iter_descriptor_files, load_descriptor
from tests.conftest import RegistryFactory

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
CHAIN = [
    "sales/products/orders.yaml",
    "customers/products/profiles.yaml",
    "marketing/products/customer_lifetime_value.yaml",
    "marketing/products/cltv_by_segment.yaml",
]


def body(relative: str, **changes: object) -> dict[str, object]:
    descriptor = load_descriptor(ROOT / "domains" / relative)
    payload: dict[str, object] = {
        "descriptor": {**descriptor.model_dump(mode="json", by_alias=True), **changes},
        "valueSchema": (ROOT / descriptor.topic.value_schema).read_text(),
    }
    if descriptor.topic.key_schema:
        payload["keySchema"] = (ROOT / descriptor.topic.key_schema).read_text()
    return payload


def put(http: httpx.Client, relative: str, **changes: object) -> httpx.Response:
    descriptor = load_descriptor(ROOT / "domains" / relative)
    return http.put(
        f"/products/{descriptor.domain}/{descriptor.name}", json=body(relative, **changes)
    )


@pytest.fixture
def url(registry_factory: RegistryFactory) -> str:
    return registry_factory()


@pytest.fixture
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        for relative in CHAIN:
            assert put(client, relative).status_code == 200, relative
        yield client


def test_every_shipped_descriptor_is_accepted(url: str) -> None:
    shipped = sorted(str(p.relative_to(ROOT / "domains")) for p in iter_descriptor_files(ROOT))
    assert sorted(CHAIN) == shipped  # this test covers every product the repository ships


def test_products_are_listed_searched_and_carry_their_contract(http: httpx.Client) -> None:
    refs = [p["ref"] for p in http.get("/products").json()]
    assert refs == [
        "customers.profiles.v1",
        "marketing.cltv_by_segment.v1",
        "marketing.customer_lifetime_value.v1",
        "sales.orders.v1",
    ]
    assert [p["ref"] for p in http.get("/products", params={"domain": "sales"}).json()] == [
        "sales.orders.v1"
    ]
    assert [p["ref"] for p in http.get("/products", params={"tag": "PII"}).json()] == [
        "customers.profiles.v1"
    ]
    assert [
        p["ref"] for p in http.get("/products", params={"q": "LIFETIME value of each"}).json()
    ] == ["marketing.customer_lifetime_value.v1"]
    orders = http.get("/products/sales/orders").json()
    assert orders["valueSubject"] == "sales.orders.v1-value"
    assert orders["downstream"] == ["marketing.customer_lifetime_value.v1"]
    latest = http.get("/subjects/sales.orders.v1-value/versions/latest").json()
    assert latest["id"] == orders["valueSchemaId"]
    rule_names = [r["name"] for r in latest["ruleSet"]["domainRules"]]
    assert "amount_non_negative" in rule_names
    assert latest["metadata"]["properties"]["domain"] == "sales"


def test_lineage_is_transitive_both_ways(http: httpx.Client) -> None:
    graph = http.get("/products/marketing/customer_lifetime_value/lineage").json()
    assert sorted(graph["upstream"]) == ["customers.profiles.v1", "sales.orders.v1"]
    assert graph["downstream"] == ["marketing.cltv_by_segment.v1"]
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert edges == {
        ("sales.orders.v1", "marketing.customer_lifetime_value.v1"),
        ("customers.profiles.v1", "marketing.customer_lifetime_value.v1"),
        ("marketing.customer_lifetime_value.v1", "marketing.cltv_by_segment.v1"),
    }
    orders = http.get("/products/sales/orders/lineage").json()
    assert orders["downstream"] == [
        "marketing.customer_lifetime_value.v1",
        "marketing.cltv_by_segment.v1",
    ]


def _reading_group(bootstrap: str, admin: AdminClient, topic: str, group: str) -> None:
    with contextlib.suppress(KafkaException):  # another test may have made it
        # the product's own partition count: other tests apply this very topic
        admin.create_topics([NewTopic(topic, 6, 1)])[topic].result(timeout=30)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    consumer.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
    consumer.close()


def test_impact_of_a_breaking_change_names_downstream_products_and_consumers(
    http: httpx.Client, bootstrap_servers: str, admin: AdminClient, group_id: str
) -> None:
    _reading_group(bootstrap_servers, admin, "sales.orders.v1", group_id)
    schema = json.loads((ROOT / "schemas/avro/sales/order.avsc").read_text())
    compatible = {
        **schema,
        "fields": [
            *schema["fields"],
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    }
    breaking = {**schema, "fields": [f for f in schema["fields"] if f["name"] != "currency"]}
    breaking["fields"].append({"name": "channel", "type": "string"})

    fine = http.post(
        "/products/sales/orders/impact", json={"schema": json.dumps(compatible)}
    ).json()
    assert (fine["compatible"], fine["breaks"]) == (True, [])

    report = http.post(
        "/products/sales/orders/impact", json={"schema": json.dumps(breaking)}
    ).json()
    assert report["compatible"] is False
    assert report["downstreamProducts"] == [
        "marketing.customer_lifetime_value.v1",
        "marketing.cltv_by_segment.v1",
    ]
    assert group_id in report["consumerGroups"]
    assert f"group:{group_id}" in report["breaks"]
    assert any("channel" in message for message in report["messages"])


def test_apply_raises_a_weak_compatibility_to_backward(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.put("/config", json={"compatibility": "NONE"}).status_code == 200
        assert put(client, "sales/products/orders.yaml").status_code == 200
        config = client.get("/config/sales.orders.v1-value").json()
        assert config["compatibilityLevel"] == "BACKWARD"
        assert client.get("/config").json()["compatibilityLevel"] == "NONE"  # others untouched


def test_a_policy_violation_registers_nothing(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        refused = put(
            client, "sales/products/orders.yaml", team={"name": "sales", "contact": "nobody"}
        )
        assert refused.status_code == 422
        assert refused.json()["error_code"] == 42290
        assert "ownership" in refused.json()["message"]
        assert client.get("/subjects").json() == []
        assert client.get("/products").json() == []


def test_quality_rule_is_enforced_by_confluents_serializer(http: httpx.Client, url: str) -> None:
    CelExecutor.register()  # type: ignore[no-untyped-call]  # confluent leaves it unannotated
    CelFieldExecutor.register()  # type: ignore[no-untyped-call]
    with SchemaRegistryClient({"url": url}) as client:
        serializer = AvroSerializer(
            client, conf={"auto.register.schemas": False, "use.latest.version": True}
        )
        ctx = SerializationContext("sales.orders.v1", MessageField.VALUE)
        order = {
            "order_id": "o-1",
            "customer_id": "c-1",
            "amount": Decimal("12.50"),
            "currency": "EUR",
            "line_items": [{"sku": "sku-1", "quantity": 1, "unit_price": Decimal("12.50")}],
            "status": "placed",
            "event_time": datetime(2026, 11, 25, tzinfo=UTC),
        }
        assert serializer(order, ctx)
        with pytest.raises(SerializationError):
            serializer({**order, "amount": Decimal("-1.00")}, ctx)


def test_lifecycle_transitions_are_governed(http: httpx.Client) -> None:
    retire = http.post("/products/sales/orders/retire", json={})
    assert retire.status_code == 422
    assert retire.json()["error_code"] == 42291
    assert "marketing.customer_lifetime_value.v1" in retire.json()["message"]

    unknown = http.post(
        "/products/marketing/cltv_by_segment/deprecate",
        json={"sunset": "2099-01-01", "successor": "marketing.cltv_by_segment.v2"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["error_code"] == 42290

    done = http.post(
        "/products/marketing/cltv_by_segment/deprecate",
        json={"sunset": "2099-01-01", "successor": "marketing.customer_lifetime_value.v1"},
    )
    assert done.status_code == 200
    assert done.json()["status"] == "deprecated"
    assert http.post("/products/marketing/cltv_by_segment/retire", json={}).json()["status"] == (
        "retired"
    )
    assert http.get("/products", params={"status": "retired"}).json()[0]["name"] == (
        "cltv_by_segment"
    )


def test_catalog_survives_a_restart(
    http: httpx.Client, registry_factory: RegistryFactory, request: pytest.FixtureRequest
) -> None:
    before = http.get("/products").json()
    topic_url = registry_factory()  # a second instance on the same log replays it
    with httpx.Client(base_url=topic_url, timeout=30) as again:
        assert again.get("/products").json() == before
        assert again.get("/products/marketing/customer_lifetime_value/lineage").json() == (
            http.get("/products/marketing/customer_lifetime_value/lineage").json()
        )
