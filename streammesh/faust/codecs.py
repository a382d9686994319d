"""Faust codecs for data products and internal topics, and the decoding of raw inputs.

Agents read and write product topics in the Confluent wire format, through the same registry
and serde as every other client of the mesh:

    from streammesh.faust import product_codecs

    orders = product_codecs(mesh, "sales.orders", major=1)
    topic = app.topic(orders.topic, key_serializer=orders.key, value_serializer=orders.value)

Faust pitfalls handled here:

- Faust's `raw` codec decodes keys to `bytes`, but `table_route` matches the URL's `str` key
  and a table hashes the key bytes to find its partition: `Utf8Codec` keeps `str` keys as the
  UTF-8 bytes the producers keyed the inputs by, so routing finds the owner.
- Faust wraps every record in its codec layers; a processor that reads a hot topic as `raw`
  and decodes in its handler (`decode_input`) saves that per record. A payload that can never
  decode is then the handler's to count, and a registry that cannot answer is raised, so the
  record is read again rather than skipped for good.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
from faust.serializers.codecs import Codec

from streammesh.errors import StreamMeshError
from streammesh.serde import (
    AvroDeserializer,
    AvroSerializer,
    RegistryLookupError,
    SchemaRegistry,
    SerdeError,
    UnknownSchemaIdError,
)

if TYPE_CHECKING:
    from streammesh.sdk.mesh import Mesh


class CodecError(StreamMeshError, SerializationError, ValueError):
    """A record that this codec cannot encode or decode; also confluent's `SerializationError`
    and a `ValueError`, as callers written for either catch it."""


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


class Utf8Codec(Codec):
    """`str` keys as UTF-8 bytes both ways (Faust's `raw` decodes to bytes)."""

    def _dumps(self, s: Any) -> bytes:
        return s if isinstance(s, bytes) else str(s).encode()

    def _loads(self, s: bytes) -> Any:
        return s.decode()


def registry_codec(registry: SchemaRegistry, topic: str, field: MessageField) -> AvroCodec:
    """A codec that reads any registered writer schema and writes the subject's latest."""
    return AvroCodec(
        topic=topic,
        field=field,
        serializer=AvroSerializer(registry, auto_register_schemas=False, use_latest_version=True),
        deserializer=AvroDeserializer(registry),
    )


def writer_codec(
    registry: SchemaRegistry, topic: str, field: MessageField, schema: str | None = None
) -> AvroCodec:
    """A codec that only writes: with `schema` (Avro JSON), registered if new; without, the
    subject's latest registered schema, with the rules the catalog attached to it."""
    if schema is not None:
        serializer = AvroSerializer(registry, schema)
    else:
        serializer = AvroSerializer(registry, auto_register_schemas=False, use_latest_version=True)
    return AvroCodec(topic=topic, field=field, serializer=serializer)


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


#: What `decode_input` gives for a payload that is not a record of any registered schema.
UNREADABLE: Final = b""


def decode_input(decode: Callable[[bytes | None], Any], payload: bytes | None) -> Any:
    """The decoded record, or `UNREADABLE` for a payload that can never decode (no magic byte,
    truncated, an id the registry does not know).

    A registry that cannot answer (down, 401, 5xx) is raised, not counted: the record is then
    neither acked nor committed, so it is read again rather than skipped for good.
    """
    try:
        return decode(payload)
    except UnknownSchemaIdError:
        return UNREADABLE
    except RegistryLookupError:
        raise
    except SerdeError:
        return UNREADABLE
