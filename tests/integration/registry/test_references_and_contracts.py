"""References and data contracts round-trip, and confluent's serializer enforces the rules given."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import (
    Metadata,
    MetadataProperties,
    MetadataTags,
    Rule,
    RuleKind,
    RuleMode,
    RuleParams,
    RuleSet,
    Schema,
    SchemaReference,
    SchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.schema_registry.schema_registry_client import ServerConfig
from confluent_kafka.schema_registry.serde import RuleConditionError
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from tests.conftest import RegistryFactory, TopicFactory

pytestmark = pytest.mark.integration

MONEY = json.dumps(
    {
        "type": "record",
        "name": "Money",
        "namespace": "sales",
        "fields": [
            {"name": "cents", "type": "long"},
            {"name": "currency", "type": "string"},
        ],
    }
)
ORDER = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "sales",
        "fields": [{"name": "id", "type": "string"}, {"name": "total", "type": "sales.Money"}],
    }
)
PAYMENT = json.dumps(
    {
        "type": "record",
        "name": "Payment",
        "namespace": "sales",
        "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}],
    }
)
MONEY_REF = SchemaReference("sales.Money", "money", 1)
POSITIVE = Rule(
    name="amountIsPositive",
    doc="A payment moves money",
    kind=RuleKind.CONDITION,
    mode=RuleMode.WRITE,
    type="CEL",
    tags=None,
    params=None,
    expr="message.amount > 0.0",
    on_success=None,
    on_failure=None,
    disabled=None,
)
CONTRACT_METADATA = Metadata(
    tags=MetadataTags({"amount": ["PII"]}),
    properties=MetadataProperties({"owner": "payments-team", "application.version": "v1"}),
    sensitive=["amount"],
)


@pytest.fixture(scope="module", autouse=True)
def _cel_rules() -> None:
    """Confluent's serdes find rule executors in a process-wide registry."""
    CelExecutor.register()  # type: ignore[no-untyped-call] # confluent leaves it unannotated


@pytest.fixture
def url(registry_factory: RegistryFactory) -> str:
    return registry_factory()


@pytest.fixture
def client(url: str) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": url}) as confluent_client:
        yield confluent_client


def test_references_referencedby_and_refused_delete(client: SchemaRegistryClient, url: str) -> None:
    money_id = client.register_schema("money", Schema(MONEY, "AVRO"))
    order_id = client.register_schema("orders-value", Schema(ORDER, "AVRO", [MONEY_REF]))
    assert order_id != money_id

    latest = client.get_latest_version("orders-value")
    assert [(r.name, r.subject, r.version) for r in latest.schema.references or []] == [
        ("sales.Money", "money", 1)
    ]
    # The named type stays a name, made relative to the namespace as Avro Java prints it.
    assert json.loads(latest.schema.schema_str or "")["fields"][1]["type"] == "Money"
    assert client.get_referenced_by("money", 1) == [order_id]
    assert httpx.get(f"{url}/subjects/money/versions/latest/referencedby").json() == [order_id]
    found = client.lookup_schema("orders-value", Schema(ORDER, "AVRO", [MONEY_REF]))
    assert (found.schema_id, found.version) == (order_id, 1)

    with pytest.raises(SchemaRegistryError) as refused:
        client.delete_version("money", 1)
    assert (refused.value.http_status_code, refused.value.error_code) == (422, 42206)
    with pytest.raises(SchemaRegistryError) as refused_subject:
        client.delete_subject("money")
    assert refused_subject.value.error_code == 42206

    # Once the referrer is gone (soft-deleted is enough), the referenced version may go too.
    assert client.delete_subject("orders-value") == [1]
    assert client.get_referenced_by("money", 1) == []
    assert client.delete_version("money", 1) == 1


def test_metadata_and_rule_set_round_trip(client: SchemaRegistryClient) -> None:
    encrypt = Rule(
        "encryptPayload", None, RuleKind.TRANSFORM, RuleMode.WRITEREAD, "ENCRYPT_PAYLOAD", None,
        RuleParams({"encrypt.kek.name": "payments-kek"}), None, None, None, None,
    )  # fmt: skip
    rule_set = RuleSet(None, [POSITIVE], encoding_rules=[encrypt])
    schema = Schema(PAYMENT, "AVRO", metadata=CONTRACT_METADATA, rule_set=rule_set)
    schema_id = client.register_schema("payments-value", schema)

    latest = client.get_latest_version("payments-value")
    assert latest.schema_id == schema_id
    assert latest.schema.metadata == CONTRACT_METADATA
    rules = latest.schema.rule_set
    assert rules is not None
    assert rules.domain_rules == [POSITIVE]
    assert rules.encoding_rules == [encrypt]
    assert client.get_schema(schema_id).metadata == CONTRACT_METADATA
    # Registering the same contract again is the same schema.
    assert client.register_schema("payments-value", schema) == schema_id
    # Other metadata makes another schema even with the same Avro.
    other = Schema(
        PAYMENT, "AVRO", metadata=Metadata(None, MetadataProperties({"owner": "x"}), None)
    )
    assert client.register_schema("payments-value", other) != schema_id


def test_config_defaults_and_overrides_are_merged_into_new_versions(
    client: SchemaRegistryClient,
) -> None:
    default_rule = Rule(
        "hasId", None, RuleKind.CONDITION, RuleMode.WRITE, "CEL", None, None,
        "message.id != ''", None, None, None,
    )  # fmt: skip
    client.set_config(
        "payments-value",
        ServerConfig(
            default_metadata=Metadata(None, MetadataProperties({"owner": "platform"}), None),
            override_metadata=Metadata(None, MetadataProperties({"domain": "sales"}), None),
            default_rule_set=RuleSet(None, [default_rule]),
            override_rule_set=RuleSet(None, [POSITIVE]),
        ),
    )
    config = client.get_config("payments-value")
    assert config.override_rule_set is not None
    assert config.override_rule_set.domain_rules == [POSITIVE]

    client.register_schema("payments-value", Schema(PAYMENT, "AVRO"))
    registered = client.get_latest_version("payments-value").schema
    assert registered.metadata is not None
    assert registered.metadata.properties is not None
    assert registered.metadata.properties.properties == {"owner": "platform", "domain": "sales"}
    assert registered.rule_set is not None
    assert [r.name for r in registered.rule_set.domain_rules or []] == [
        "hasId",
        "amountIsPositive",
    ]

    # The request's own metadata sits over the default and under the override.
    mine = Metadata(None, MetadataProperties({"owner": "me", "domain": "mine"}), None)
    client.register_schema("payments-value", Schema(PAYMENT, "AVRO", metadata=mine))
    latest = client.get_version("payments-value", 2)  # the client caches the latest version
    assert latest.schema.metadata is not None
    assert latest.schema.metadata.properties is not None
    assert latest.schema.metadata.properties.properties == {"owner": "me", "domain": "sales"}


def test_latest_with_metadata(client: SchemaRegistryClient, url: str) -> None:
    def version(app_version: str) -> Schema:
        props = MetadataProperties({"application.version": app_version})
        return Schema(PAYMENT, "AVRO", metadata=Metadata(None, props, None))

    first = client.register_schema("payments-value", version("v1"))
    second = client.register_schema("payments-value", version("v2"))
    found = client.get_latest_with_metadata("payments-value", {"application.version": "v1"})
    assert (found.schema_id, found.version) == (first, 1)
    found = client.get_latest_with_metadata("payments-value", {"application.version": "v2"})
    assert (found.schema_id, found.version) == (second, 2)
    raw = httpx.get(
        f"{url}/subjects/payments-value/metadata",
        params={"key": "application.version", "value": "v1"},
    )
    assert raw.json()["version"] == 1
    with pytest.raises(SchemaRegistryError) as missing:
        client.get_latest_with_metadata("payments-value", {"application.version": "v3"})
    assert (missing.value.http_status_code, missing.value.error_code) == (404, 40403)


def _serializer(client: SchemaRegistryClient) -> AvroSerializer:
    # Confluent's data-contract setup: the latest registered version, with its rules, is used.
    conf = {"auto.register.schemas": False, "use.latest.version": True}
    serializer: AvroSerializer = AvroSerializer(client, conf=conf)
    return serializer


def test_cel_rule_is_enforced_by_confluents_serializer(client: SchemaRegistryClient) -> None:
    client.register_schema(
        "payments-value", Schema(PAYMENT, "AVRO", rule_set=RuleSet(None, [POSITIVE]))
    )
    serialize = _serializer(client)
    context = SerializationContext("payments", MessageField.VALUE)

    encoded = serialize({"id": "p-1", "amount": 12.5}, context)
    assert encoded is not None
    assert encoded[0] == 0  # Confluent's magic byte, then the schema id

    with pytest.raises(SerializationError) as violated:
        serialize({"id": "p-2", "amount": -3.0}, context)
    # Confluent's ERROR action chains the failed condition, described by the rule's doc.
    assert isinstance(violated.value.__cause__, RuleConditionError)
    assert str(violated.value.__cause__) == "A payment moves money"


def test_avro_records_through_a_real_topic(
    client: SchemaRegistryClient,
    bootstrap_servers: str,
    topic_factory: TopicFactory,
    group_id: str,
) -> None:
    topic = topic_factory()
    subject = f"{topic}-value"
    client.register_schema(subject, Schema(PAYMENT, "AVRO", rule_set=RuleSet(None, [POSITIVE])))
    serialize = _serializer(client)
    payments = [{"id": f"p-{n}", "amount": float(n)} for n in range(1, 6)]

    producer = Producer({"bootstrap.servers": bootstrap_servers})
    for payment in payments:
        value = serialize(payment, SerializationContext(topic, MessageField.VALUE))
        producer.produce(topic, value=value)
    assert producer.flush(10) == 0

    deserialize = AvroDeserializer(client)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    received: list[object] = []
    try:
        for _ in range(100):
            message = consumer.poll(0.5)
            if message is None:
                if len(received) == len(payments):
                    break
                continue
            assert message.error() is None, message.error()
            context = SerializationContext(topic, MessageField.VALUE)
            received.append(deserialize(message.value(), context))
    finally:
        consumer.close()
    assert received == payments
