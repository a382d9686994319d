"""Every serde failure is catchable as StreamMeshError and as confluent's SerializationError."""

import copy
from collections.abc import Callable
from decimal import Decimal

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import SerializationContext, SerializationError

from streammesh.errors import StreamMeshError
from streammesh.serde import (
    AvroDeserializer,
    AvroSerializer,
    RecordMismatchError,
    SerdeError,
    TruncatedPayloadError,
    UnknownMagicByteError,
    UnknownSchemaIdError,
)
from tests.unit.serde.samples import LOGICAL, LOGICAL_SCHEMA, ORDER, ORDER_SCHEMA


def _order(**changes: object) -> dict[str, object]:
    return {**copy.deepcopy(ORDER), **changes}


def _payload(registry: SchemaRegistryClient, ctx: SerializationContext) -> bytes:
    payload = AvroSerializer(registry, ORDER_SCHEMA)(ORDER, ctx)
    assert payload is not None
    return payload


# What goes wrong -> (what the payload becomes, the error, a fragment of its message).
DECODE_FAILURES: dict[str, tuple[Callable[[bytes], bytes], type[SerdeError], str]] = {
    "bad-magic-byte": (lambda p: b"\x01" + p[1:], UnknownMagicByteError, "magic byte 1"),
    "unknown-schema-id": (
        lambda p: p[:1] + (99).to_bytes(4, "big") + p[5:],
        UnknownSchemaIdError,
        "99",
    ),
    "empty": (lambda p: b"", TruncatedPayloadError, "shorter than the 5-byte header"),
    "header-cut": (lambda p: p[:3], TruncatedPayloadError, "shorter than the 5-byte header"),
    "header-only": (lambda p: p[:5], TruncatedPayloadError, "ends inside the Avro body"),
    "body-cut": (lambda p: p[:-4], TruncatedPayloadError, "ends inside the Avro body"),
    # Status index 4 of 2 symbols: corrupt, yet the bytes after it are all there.
    "enum-index-corrupt": (
        lambda p: p.replace(b"\x00\x02\x0echannel", b"\x08\x02\x0echannel"),
        SerdeError,
        "cannot decode the Avro body",
    ),
}


@pytest.mark.parametrize("case", DECODE_FAILURES)
def test_bad_payload(
    registry: SchemaRegistryClient, value_ctx: SerializationContext, case: str
) -> None:
    corrupt, error, fragment = DECODE_FAILURES[case]
    deserialize = AvroDeserializer(registry)

    with pytest.raises(error, match=fragment) as caught:
        deserialize(corrupt(_payload(registry, value_ctx)), value_ctx)

    assert type(caught.value) is error
    assert isinstance(caught.value, StreamMeshError)
    assert isinstance(caught.value, SerializationError)


def test_every_cut_of_a_body_is_reported_as_truncated(
    registry: SchemaRegistryClient, value_ctx: SerializationContext
) -> None:
    payload = AvroSerializer(registry, LOGICAL_SCHEMA)(LOGICAL, value_ctx)
    assert payload is not None
    deserialize = AvroDeserializer(registry)

    for cut in range(5, len(payload)):
        with pytest.raises(TruncatedPayloadError):
            deserialize(payload[:cut], value_ctx)


# A record that does not fit -> the path the error must name.
BAD_RECORDS: dict[str, tuple[object, str]] = {
    "wrong-leaf-in-list": (
        _order(
            items=[
                {"sku": "s", "quantity": 1, "unit_price": Decimal(1)},
                {"sku": "s", "quantity": "two", "unit_price": Decimal(1)},
            ]
        ),
        "$.items[1].quantity",
    ),
    "missing-field": ({k: v for k, v in ORDER.items() if k != "amount"}, "$.amount"),
    "unknown-enum-symbol": (_order(status="lost"), "$.status"),
    "decimal-scale-too-fine": (_order(amount=Decimal("1.001")), "$.amount"),
    "wrong-map-value": (_order(tags={"channel": 7}), "$.tags['channel']"),
    "not-a-record": ("o-1", "$"),
}


@pytest.mark.parametrize("case", BAD_RECORDS)
def test_bad_record_names_the_field(
    registry: SchemaRegistryClient, value_ctx: SerializationContext, case: str
) -> None:
    record, path = BAD_RECORDS[case]

    with pytest.raises(RecordMismatchError) as caught:
        AvroSerializer(registry, ORDER_SCHEMA)(record, value_ctx)

    assert caught.value.path == path
    assert f"shop.Order at {path}:" in str(caught.value)
    assert isinstance(caught.value, StreamMeshError)
    assert isinstance(caught.value, SerializationError)
