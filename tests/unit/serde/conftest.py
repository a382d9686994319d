"""Serde fixtures: an in-process registry (confluent's own mock client) and a value context."""

from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.unit.serde.samples import TOPIC


@pytest.fixture
def registry() -> Iterator[SchemaRegistryClient]:
    """A fresh in-memory registry per test: the `mock://` URL makes confluent build its mock."""
    client = SchemaRegistryClient.new_client({"url": "mock://"})
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def value_ctx() -> SerializationContext:
    return SerializationContext(TOPIC, MessageField.VALUE)
