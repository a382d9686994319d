"""The serdes reach a registry only through the SchemaRegistry protocol, with confluent's knobs."""

import pytest
from confluent_kafka.schema_registry import (
    RegisteredSchema,
    Schema,
    SchemaRegistryClient,
    SchemaRegistryError,
    record_subject_name_strategy,
)
from confluent_kafka.serialization import MessageField, SerializationContext

from streammesh.errors import StreamMeshError
from streammesh.serde import (
    AvroDeserializer,
    AvroSerializer,
    RegistryLookupError,
    SchemaRegistry,
    SerdeConfigError,
    SerdeError,
)
from tests.unit.serde.samples import ORDER, ORDER_SCHEMA, TOPIC, order_schema


class DictRegistry:
    """The smallest registry the protocol allows: schemas by id, ids by subject."""

    def __init__(self) -> None:
        self.schemas: dict[int, Schema] = {}
        self.subjects: dict[str, list[int]] = {}

    def get_schema(self, schema_id: int, /) -> Schema:
        if schema_id not in self.schemas:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return self.schemas[schema_id]

    def register_schema(self, subject_name: str, schema: Schema, /) -> int:
        schema_id = next((i for i, s in self.schemas.items() if s == schema), len(self.schemas) + 1)
        self.schemas[schema_id] = schema
        self.subjects.setdefault(subject_name, []).append(schema_id)
        return schema_id

    def lookup_schema(self, subject_name: str, schema: Schema, /) -> RegisteredSchema:
        for version, schema_id in enumerate(self.subjects.get(subject_name, []), start=1):
            if self.schemas[schema_id] == schema:
                return RegisteredSchema(subject_name, version, schema_id, None, schema)
        raise SchemaRegistryError(404, 40403, "Schema not found")

    def get_latest_version(self, subject_name: str, /) -> RegisteredSchema:
        if not self.subjects.get(subject_name):
            raise SchemaRegistryError(404, 40401, "Subject not found")
        ids = self.subjects[subject_name]
        return RegisteredSchema(subject_name, len(ids), ids[-1], None, self.schemas[ids[-1]])


@pytest.mark.parametrize("mode", ["auto-register", "lookup", "latest"])
def test_confluent_client_and_a_dict_both_serve(
    registry: SchemaRegistryClient, value_ctx: SerializationContext, mode: str
) -> None:
    clients: list[SchemaRegistry] = [registry, DictRegistry()]  # mypy checks both fit
    for client in clients:
        if mode != "auto-register":
            client.register_schema(f"{TOPIC}-value", Schema(ORDER_SCHEMA, "AVRO"))
        serializer = AvroSerializer(
            client,
            None if mode == "latest" else ORDER_SCHEMA,
            auto_register_schemas=mode == "auto-register",
            use_latest_version=mode == "latest",
        )
        payload = serializer(ORDER, value_ctx)
        assert payload is not None
        assert AvroDeserializer(client)(payload, value_ctx) == ORDER


@pytest.mark.parametrize(
    ("field", "subject"), [(MessageField.VALUE, "orders-value"), (MessageField.KEY, "orders-key")]
)
def test_default_subject_is_topic_and_field(
    registry: SchemaRegistryClient, field: MessageField, subject: str
) -> None:
    AvroSerializer(registry, ORDER_SCHEMA)(ORDER, SerializationContext(TOPIC, field))

    assert registry.get_subjects() == [subject]


def test_record_subject_name_strategy(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    serializer = AvroSerializer(
        registry, ORDER_SCHEMA, subject_name_strategy=record_subject_name_strategy
    )
    serializer(ORDER, value_ctx)

    assert registry.get_subjects() == ["shop.Order"]


def test_without_auto_register_an_unregistered_schema_fails(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    serializer = AvroSerializer(registry, ORDER_SCHEMA, auto_register_schemas=False)

    with pytest.raises(RegistryLookupError, match="orders-value"):
        serializer(ORDER, value_ctx)
    assert registry.get_subjects() == []


def test_without_auto_register_a_registered_schema_is_looked_up(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    schema_id = registry.register_schema(f"{TOPIC}-value", Schema(ORDER_SCHEMA, "AVRO"))

    payload = AvroSerializer(registry, ORDER_SCHEMA, auto_register_schemas=False)(ORDER, value_ctx)

    assert payload is not None
    assert payload[1:5] == schema_id.to_bytes(4, "big")


def test_use_latest_version_writes_with_the_latest_schema(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    subject = f"{TOPIC}-value"
    registry.register_schema(subject, Schema(ORDER_SCHEMA, "AVRO"))
    newer = order_schema({"name": "channel", "type": "string", "default": "web"})
    latest_id = registry.register_schema(subject, Schema(newer, "AVRO"))

    serializer = AvroSerializer(registry, auto_register_schemas=False, use_latest_version=True)
    payload = serializer(ORDER, value_ctx)

    assert payload is not None
    assert payload[1:5] == latest_id.to_bytes(4, "big")
    assert AvroDeserializer(registry)(payload) == {**ORDER, "channel": "web"}


@pytest.mark.parametrize(
    ("schema", "auto_register", "use_latest"),
    [(ORDER_SCHEMA, True, True), (None, False, False)],
    ids=["latest-with-auto-register", "no-schema"],
)
def test_unworkable_settings_are_refused(
    registry: SchemaRegistryClient, schema: str | None, auto_register: bool, use_latest: bool
) -> None:
    with pytest.raises(SerdeConfigError) as caught:
        AvroSerializer(
            registry, schema, auto_register_schemas=auto_register, use_latest_version=use_latest
        )
    assert isinstance(caught.value, StreamMeshError)
    assert isinstance(caught.value, ValueError)


def test_topic_strategy_without_context_is_a_serde_error(registry: SchemaRegistryClient) -> None:
    with pytest.raises(SerdeError, match="SerializationContext is required"):
        AvroSerializer(registry, ORDER_SCHEMA)(ORDER)
