"""A record written by our AvroSerializer reads back equal, logical types included."""

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

from streammesh.serde import AvroDeserializer, AvroSerializer, SchemaId, header
from tests.unit.serde.samples import LOGICAL, LOGICAL_SCHEMA, ORDER, ORDER_SCHEMA, TOPIC


@pytest.mark.parametrize(
    ("schema", "record"),
    [(ORDER_SCHEMA, ORDER), (LOGICAL_SCHEMA, LOGICAL)],
    ids=["order", "logical"],
)
def test_record_round_trips(
    registry: SchemaRegistryClient,
    value_ctx: SerializationContext,
    schema: str,
    record: dict[str, object],
) -> None:
    payload = AvroSerializer(registry, schema)(record, value_ctx)

    assert payload is not None
    assert AvroDeserializer(registry)(payload, value_ctx) == record


def test_payload_is_framed_with_magic_byte_and_registry_id(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    # Another schema takes id 1, so a hard-coded id would show.
    registry.register_schema("other-value", Schema('{"type":"string"}', schema_type="AVRO"))

    payload = AvroSerializer(registry, ORDER_SCHEMA)(ORDER, value_ctx)

    schema_id = registry.get_latest_version(f"{TOPIC}-value").schema_id
    assert schema_id == 2
    assert payload is not None
    assert payload[:5] == b"\x00\x00\x00\x00\x02" == header(SchemaId(schema_id))


def test_none_passes_through(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    assert AvroSerializer(registry, ORDER_SCHEMA)(None, value_ctx) is None
    assert AvroDeserializer(registry)(None, value_ctx) is None


def test_top_level_primitive_round_trips(registry: SchemaRegistryClient) -> None:
    key_ctx = SerializationContext(TOPIC, MessageField.KEY)
    payload = AvroSerializer(registry, '"string"')("o-1", key_ctx)

    assert payload is not None
    assert AvroDeserializer(registry)(payload, key_ctx) == "o-1"


def test_one_serializer_serves_several_topics(registry: SchemaRegistryClient) -> None:
    serialize, deserialize = AvroSerializer(registry, ORDER_SCHEMA), AvroDeserializer(registry)

    for topic in ("orders", "orders-eu", "orders"):
        payload = serialize(ORDER, SerializationContext(topic, MessageField.VALUE))
        assert payload is not None
        assert deserialize(payload) == ORDER

    assert set(registry.get_subjects()) == {"orders-value", "orders-eu-value"}
