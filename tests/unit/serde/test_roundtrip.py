"""A record written by our AvroSerializer reads back equal, logical types included."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

from streammesh.serde import (
    AvroDeserializer,
    AvroSerializer,
    SchemaId,
    SerdeConfigError,
    SerdeError,
    header,
)
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


def test_deferred_conversions_leave_only_unread_values_as_written(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    payload = AvroSerializer(registry, LOGICAL_SCHEMA)(LOGICAL, value_ctx)
    full = AvroDeserializer(registry)(payload, value_ctx)

    lazy = AvroDeserializer(registry, reads=lambda path: path in {("price",), ("at_us",)})
    decoded = lazy(payload, value_ctx)

    assert isinstance(full, dict)
    assert isinstance(decoded, dict)
    assert {k: v for k, v in decoded.items() if k != "at_ms"} == {
        k: v for k, v in full.items() if k != "at_ms"
    }
    assert decoded["at_ms"] == (full["at_ms"] - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        milliseconds=1
    )
    items = AvroDeserializer(registry, reads=lambda path: path == ("amount",))(
        AvroSerializer(registry, ORDER_SCHEMA)(ORDER, value_ctx), value_ctx
    )
    assert isinstance(items, dict)
    assert items["amount"] == ORDER["amount"]
    assert [type(line["unit_price"]) for line in items["items"]] == [bytes, bytes]


def test_deferred_decoding_refuses_what_the_full_decoding_refuses(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    """A timestamp past the year 9999 fails fastavro's conversion: read or not, it fails."""
    plain = json.loads(LOGICAL_SCHEMA)
    for declared in plain["fields"]:
        if declared["name"] in ("at_ms", "at_us"):
            declared["type"] = "long"
    far = {**LOGICAL, "at_ms": 10**15, "at_us": 0}
    payload = AvroSerializer(registry, json.dumps(plain))(far, value_ctx)
    assert payload is not None
    framed = AvroSerializer(registry, LOGICAL_SCHEMA)(LOGICAL, value_ctx)
    assert framed is not None
    payload = framed[:5] + payload[5:]  # the same body under the logical schema's id

    with pytest.raises(SerdeError):
        AvroDeserializer(registry)(payload, value_ctx)
    with pytest.raises(SerdeError, match="out of range"):
        AvroDeserializer(registry, reads=lambda path: False)(payload, value_ctx)


def test_deferred_decoding_takes_no_reader_schema(registry: SchemaRegistryClient) -> None:
    with pytest.raises(SerdeConfigError):
        AvroDeserializer(registry, ORDER_SCHEMA, reads=lambda path: True)
