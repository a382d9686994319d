"""Faust codecs for data products: agents read and write product topics in the Confluent wire
format, through the same registry and serde as every other client of the mesh.

    from streammesh.sdk.faust import product_codecs

    orders = product_codecs(mesh, "sales.orders", major=1)
    topic = app.topic(orders.topic, key_serializer=orders.key, value_serializer=orders.value)

Kept out of `streammesh.sdk`'s namespace so that importing the SDK does not import Faust.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from confluent_kafka.serialization import MessageField, SerializationContext
from faust.serializers.codecs import Codec

from streammesh.serde import AvroDeserializer, AvroSerializer, SchemaRegistry

if TYPE_CHECKING:
    from streammesh.sdk.mesh import Mesh


class CodecError(ValueError):
    """A record that this codec cannot encode or decode."""


class AvroCodec(Codec):
    """Confluent wire-format Avro for one topic and field (key or value).

    The subject comes from the topic (`<topic>-value` / `<topic>-key`) and the schema id from
    the registry, as with confluent's serdes; a codec without a serializer (or deserializer)
    refuses to write (or read), so an app cannot write a topic it only meant to read.
    """

    def __init__(
        self,
        *,
        topic: str,
        field: MessageField = MessageField.VALUE,
        serializer: AvroSerializer | None = None,
        deserializer: AvroDeserializer | None = None,
    ) -> None:
        super().__init__(topic=topic, field=field, serializer=serializer, deserializer=deserializer)
        self._ctx = SerializationContext(topic, field)
        self._serializer = serializer
        self._deserializer = deserializer

    def _dumps(self, s: Any) -> bytes:
        if self._serializer is None:
            raise CodecError(f"{self._ctx.topic} is not written by this app")
        data = self._serializer(s, self._ctx)
        if data is None:
            raise CodecError("a tombstone is sent as value=None, not encoded")
        return data

    def _loads(self, s: bytes) -> Any:
        if self._deserializer is None:
            raise CodecError(f"{self._ctx.topic} is not read by this app")
        return self._deserializer(s, self._ctx)


def registry_codec(registry: SchemaRegistry, topic: str, field: MessageField) -> AvroCodec:
    """A codec that reads any registered writer schema and writes the subject's latest."""
    return AvroCodec(
        topic=topic,
        field=field,
        serializer=AvroSerializer(registry, auto_register_schemas=False, use_latest_version=True),
        deserializer=AvroDeserializer(registry),
    )


@dataclass(frozen=True, slots=True)
class ProductCodecs:
    """A product's topic and its codecs; `key` is None when keys are plain strings."""

    topic: str
    key: AvroCodec | None
    value: AvroCodec


def product_codecs(mesh: Mesh, product: str, major: int | None = None) -> ProductCodecs:
    """The codecs of `<domain>.<product>` (latest major unless given), resolved in the catalog."""
    info = mesh.product(product, major)
    key = None
    if info.key_subject is not None:
        key = registry_codec(mesh.registry, info.topic, MessageField.KEY)
    return ProductCodecs(
        info.topic, key, registry_codec(mesh.registry, info.topic, MessageField.VALUE)
    )
