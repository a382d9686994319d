"""confluent-kafka's SchemaRegistryClient and Avro serdes work, unchanged, against our registry."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from tests.conftest import RegistryFactory

pytestmark = pytest.mark.integration

ORDER_V1 = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "sales",
        "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}],
    }
)
ORDER_V2 = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "sales",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "amount", "type": "double"},
            {"name": "currency", "type": "string", "default": "EUR"},
        ],
    }
)
ORDER_BREAKING = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "sales",
        "fields": [{"name": "id", "type": "string"}, {"name": "qty", "type": "int"}],
    }
)


@pytest.fixture
def client(registry_factory: RegistryFactory) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": registry_factory()}) as confluent_client:
        yield confluent_client


def test_register_lookup_versions_latest(client: SchemaRegistryClient) -> None:
    first = client.register_schema("orders-value", Schema(ORDER_V1, "AVRO"))
    assert client.register_schema("orders-value", Schema(ORDER_V1, "AVRO")) == first
    second = client.register_schema("orders-value", Schema(ORDER_V2, "AVRO"))
    assert second != first
    # the same schema in another subject keeps its id
    assert client.register_schema("other-value", Schema(ORDER_V1, "AVRO")) == first

    assert client.get_subjects() == ["orders-value", "other-value"]
    assert client.get_versions("orders-value") == [1, 2]
    latest = client.get_latest_version("orders-value")
    assert (latest.version, latest.schema_id) == (2, second)
    found = client.lookup_schema("orders-value", Schema(ORDER_V2, "AVRO"))
    assert (found.version, found.schema_id) == (2, second)
    schema_str = client.get_schema(first).schema_str
    assert schema_str is not None
    assert json.loads(schema_str) == json.loads(ORDER_V1)


def test_incompatible_schema_is_refused_with_409(client: SchemaRegistryClient) -> None:
    client.register_schema("orders-value", Schema(ORDER_V1, "AVRO"))
    assert not client.test_compatibility("orders-value", Schema(ORDER_BREAKING, "AVRO"))
    assert client.test_compatibility("orders-value", Schema(ORDER_V2, "AVRO"))
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("orders-value", Schema(ORDER_BREAKING, "AVRO"))
    assert (refused.value.http_status_code, refused.value.error_code) == (409, 409)


def test_config_and_mode(client: SchemaRegistryClient) -> None:
    assert client.get_compatibility() == "BACKWARD"
    client.set_compatibility(level="FULL")
    assert client.get_compatibility() == "FULL"
    client.set_compatibility("orders-value", "NONE")
    assert client.get_compatibility("orders-value") == "NONE"
    assert client.update_mode("orders-value", "READONLY") == "READONLY"
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("orders-value", Schema(ORDER_V1, "AVRO"))
    assert refused.value.error_code == 42205


def test_soft_and_hard_delete(client: SchemaRegistryClient) -> None:
    client.register_schema("orders-value", Schema(ORDER_V1, "AVRO"))
    client.register_schema("orders-value", Schema(ORDER_V2, "AVRO"))
    assert client.delete_version("orders-value", 1) == 1
    assert client.get_versions("orders-value") == [2]
    assert client.delete_subject("orders-value") == [2]
    assert client.get_subjects() == []
    with pytest.raises(SchemaRegistryError) as missing:
        client.get_latest_version("orders-value")
    assert missing.value.error_code == 40401
    assert client.delete_subject("orders-value", permanent=True) == [1, 2]
