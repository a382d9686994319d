"""Errors of the serde package.

Every error raised while encoding or decoding derives from both `StreamMeshError` and
confluent-kafka's `SerializationError`, so code written for confluent's serdes keeps working.
"""

from confluent_kafka.serialization import SerializationError

from streammesh.errors import StreamMeshError


class SerdeConfigError(StreamMeshError, ValueError):
    """A serializer or deserializer was constructed with settings that cannot work together."""


class SerdeError(StreamMeshError, SerializationError):
    """A record could not be serialized or a payload could not be deserialized."""


class UnknownMagicByteError(SerdeError):
    """The payload does not start with the Confluent wire-format magic byte 0."""

    def __init__(self, magic: int) -> None:
        super().__init__(f"unknown magic byte {magic}: not a Confluent wire-format (v0) payload")
        self.magic = magic


class TruncatedPayloadError(SerdeError):
    """The payload ends before the header or the Avro body is complete."""


class RegistryLookupError(SerdeError):
    """The schema registry could not supply a schema or a schema id."""


class UnknownSchemaIdError(RegistryLookupError):
    """The payload names a schema id that the registry does not know."""

    def __init__(self, schema_id: int) -> None:
        super().__init__(f"schema id {schema_id} is not known to the schema registry")
        self.schema_id = schema_id


class RecordMismatchError(SerdeError):
    """The record does not match the writer schema; `path` names the offending field."""

    def __init__(self, schema_name: str, path: str, reason: str) -> None:
        super().__init__(f"record does not match schema {schema_name} at {path}: {reason}")
        self.schema_name = schema_name
        self.path = path
