"""Avro serdes in the Confluent wire format, interchangeable with confluent-kafka's own."""

from streammesh.serde.avro import AvroDeserializer, AvroSerializer
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
from streammesh.serde.wire import HEADER_SIZE, MAGIC_BYTE, header, schema_id_of

__all__ = [
    "HEADER_SIZE",
    "MAGIC_BYTE",
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
    "schema_id_of",
]
