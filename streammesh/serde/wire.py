"""The Confluent wire format's header, defined once: the magic byte 0, then the schema id as a
4-byte big-endian integer. The body (Avro binary) follows it."""

from __future__ import annotations

import struct
from typing import Final

from streammesh.serde.errors import TruncatedPayloadError, UnknownMagicByteError
from streammesh.serde.registry import SchemaId

MAGIC_BYTE: Final = 0
HEADER_SIZE: Final = 5
_HEADER: Final = struct.Struct(">BI")


def header(schema_id: SchemaId) -> bytes:
    """The 5-byte Confluent wire-format header for `schema_id`."""
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def schema_id_of(payload: bytes) -> SchemaId:
    """The schema id in `payload`'s header.

    Raises `UnknownMagicByteError` when the first byte is not 0 (a payload of another format,
    however short), else `TruncatedPayloadError` when the header is cut.
    """
    if payload and payload[0] != MAGIC_BYTE:
        raise UnknownMagicByteError(payload[0])
    if len(payload) < HEADER_SIZE:
        raise TruncatedPayloadError(
            f"payload of {len(payload)} bytes is shorter than the {HEADER_SIZE}-byte header"
        )
    return SchemaId(_HEADER.unpack_from(payload)[1])
