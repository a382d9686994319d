"""The seam between the serdes and a schema registry.

confluent-kafka's `SchemaRegistryClient` satisfies `SchemaRegistry` as it is, so users pass the
client they already run; tests may pass any in-memory object with these four methods.
"""

from collections.abc import Callable
from typing import NewType, Protocol

from confluent_kafka.schema_registry import RegisteredSchema, Schema
from confluent_kafka.serialization import SerializationContext

SchemaId = NewType("SchemaId", int)

SubjectNameStrategy = Callable[[SerializationContext | None, str | None], str | None]
"""Confluent's `(ctx, record_name) -> subject`, e.g. its `topic_subject_name_strategy`."""


class SchemaRegistry(Protocol):
    """What the serdes need from a registry; failures raise confluent's `SchemaRegistryError`."""

    def get_schema(self, schema_id: int, /) -> Schema: ...

    def register_schema(self, subject_name: str, schema: Schema, /) -> int: ...

    def lookup_schema(self, subject_name: str, schema: Schema, /) -> RegisteredSchema: ...

    def get_latest_version(self, subject_name: str, /) -> RegisteredSchema: ...
