"""The Faust runtime's product codecs write what confluent's AvroDeserializer reads and read
what its AvroSerializer writes, against the running registry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streammesh.faust import product_codecs
from streammesh.sdk import Mesh
from tests.integration.sdk.workspace import Workspace, order

pytestmark = pytest.mark.integration


def test_product_codecs_interoperate_with_confluent_serdes(
    mesh: Mesh, registered: Workspace, registry_url: str
) -> None:
    codecs = product_codecs(mesh, registered.ref("sales.orders"), major=1)
    assert codecs.key is not None
    value_ctx = SerializationContext(codecs.topic, MessageField.VALUE)
    key_ctx = SerializationContext(codecs.topic, MessageField.KEY)
    record = order(order_id="o-faust", amount=Decimal("7.25"))

    with SchemaRegistryClient({"url": registry_url}) as client:
        theirs = AvroDeserializer(client)
        decoded = theirs(codecs.value.dumps(record), value_ctx)
        assert decoded["order_id"] == "o-faust"
        assert decoded["amount"] == Decimal("7.25")
        assert theirs(codecs.key.dumps("c-9"), key_ctx) == "c-9"

        conf = {"auto.register.schemas": False, "use.latest.version": True}
        written = AvroSerializer(client, None, conf=conf)(record, value_ctx)
    assert written is not None
    assert codecs.value.loads(written) == decoded
