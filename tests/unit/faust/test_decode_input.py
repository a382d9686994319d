"""An input that can never decode is counted as unreadable; a registry that cannot answer stops
the worker instead, so its records are read again rather than skipped for good."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streammesh.faust import UNREADABLE, decode_input
from streammesh.serde import (
    RegistryLookupError,
    SerdeError,
    TruncatedPayloadError,
    UnknownMagicByteError,
    UnknownSchemaIdError,
)


def raising(error: SerdeError) -> Callable[[bytes | None], object]:
    def decode(_: bytes | None) -> object:
        raise error

    return decode


@pytest.mark.parametrize(
    "error",
    [UnknownMagicByteError(1), TruncatedPayloadError("5 bytes, no body"), UnknownSchemaIdError(7)],
)
def test_payloads_that_never_decode_are_unreadable(error: SerdeError) -> None:
    assert decode_input(raising(error), b"\x01") is UNREADABLE


def test_a_registry_that_cannot_answer_is_raised_not_counted() -> None:
    failure = RegistryLookupError("schema id 7: 503 Service Unavailable")
    with pytest.raises(RegistryLookupError, match="503"):
        decode_input(raising(failure), b"\x00\x00\x00\x00\x07")


def test_records_and_tombstones_pass_through() -> None:
    assert decode_input(lambda payload: {"order_id": "o-1"}, b"\x00") == {"order_id": "o-1"}
    assert decode_input(lambda payload: None, None) is None
