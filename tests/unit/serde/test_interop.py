"""Our serdes and confluent-kafka's Avro serdes write the same bytes and read each other's."""

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer as ConfluentDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as ConfluentSerializer
from confluent_kafka.serialization import Deserializer, SerializationContext, Serializer

from streammesh.serde import AvroDeserializer, AvroSerializer
from tests.unit.serde.samples import LOGICAL, LOGICAL_SCHEMA, ORDER, ORDER_SCHEMA

CASES = [(ORDER_SCHEMA, ORDER), (LOGICAL_SCHEMA, LOGICAL), ('"bytes"', b"\x00raw\xff")]
CASE_IDS = ["order", "logical", "top-level-bytes"]


def _serializers(registry: SchemaRegistryClient, schema: str) -> tuple[Serializer, Serializer]:
    return AvroSerializer(registry, schema), ConfluentSerializer(registry, schema)


def _deserializers(registry: SchemaRegistryClient) -> tuple[Deserializer, Deserializer]:
    return AvroDeserializer(registry), ConfluentDeserializer(registry)


@pytest.mark.parametrize(("schema", "record"), CASES, ids=CASE_IDS)
def test_both_serializers_write_the_same_bytes(
    registry: SchemaRegistryClient, value_ctx: SerializationContext, schema: str, record: object
) -> None:
    ours, theirs = _serializers(registry, schema)

    assert ours(record, value_ctx) == theirs(record, value_ctx)


@pytest.mark.parametrize(("schema", "record"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("direction", ["ours-to-confluent", "confluent-to-ours"])
def test_each_reads_what_the_other_wrote(
    registry: SchemaRegistryClient,
    value_ctx: SerializationContext,
    schema: str,
    record: object,
    direction: str,
) -> None:
    serializers, deserializers = _serializers(registry, schema), _deserializers(registry)
    writer, reader = (0, 1) if direction == "ours-to-confluent" else (1, 0)

    payload = serializers[writer](record, value_ctx)

    assert deserializers[reader](payload, value_ctx) == record
