"""A reader schema resolves records written with another schema version, per Avro's rules."""

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import SerializationContext

from streammesh.serde import AvroDeserializer, AvroSerializer, SerdeError
from tests.unit.serde.samples import ORDER, ORDER_SCHEMA, order_schema


def test_field_added_in_reader_takes_its_default(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    reader = order_schema({"name": "channel", "type": "string", "default": "web"})
    payload = AvroSerializer(registry, ORDER_SCHEMA)(ORDER, value_ctx)

    assert AvroDeserializer(registry, reader)(payload, value_ctx) == {**ORDER, "channel": "web"}


def test_field_removed_from_reader_is_skipped(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    payload = AvroSerializer(registry, ORDER_SCHEMA)(ORDER, value_ctx)

    decoded = AvroDeserializer(registry, order_schema(drop="items"))(payload, value_ctx)

    assert decoded == {k: v for k, v in ORDER.items() if k != "items"}


def test_one_reader_resolves_several_writer_versions(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    newer = order_schema({"name": "channel", "type": "string", "default": "web"})
    old_payload = AvroSerializer(registry, ORDER_SCHEMA)(ORDER, value_ctx)
    new_payload = AvroSerializer(registry, newer)({**ORDER, "channel": "app"}, value_ctx)
    deserialize = AvroDeserializer(registry, newer)

    assert deserialize(old_payload) == {**ORDER, "channel": "web"}
    assert deserialize(new_payload) == {**ORDER, "channel": "app"}
    assert deserialize(old_payload) == {**ORDER, "channel": "web"}


def test_added_field_without_default_cannot_resolve(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    reader = order_schema({"name": "channel", "type": "string"})
    payload = AvroSerializer(registry, ORDER_SCHEMA)(ORDER, value_ctx)

    with pytest.raises(SerdeError, match="channel"):
        AvroDeserializer(registry, reader)(payload, value_ctx)
