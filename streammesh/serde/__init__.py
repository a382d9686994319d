"""Avro serdes in the Confluent wire format, interchangeable with confluent-kafka's own."""

from streammesh.serde.avro import AvroDeserializer, AvroSerializer, header
from streammesh.serde.errors import (
    RecordMismatchError,
    RegistryLookupError,
    SerdeConfigError,
    SerdeError,
    TruncatedPayloadError,
    UnknownMagicByteError,
    UnknownSchemaIdError,
)
from streammesh.serde.registry import SchemaId, SchemaRegistry, SubjectNameStrategy

__all__ = [
    "AvroDeserializer",
    "AvroSerializer",
    "RecordMismatchError",
    "RegistryLookupError",
    "SchemaId",
    "SchemaRegistry",
    "SerdeConfigError",
    "SerdeError",
    "SubjectNameStrategy",
    "TruncatedPayloadError",
    "UnknownMagicByteError",
    "UnknownSchemaIdError",
    "header",
]
