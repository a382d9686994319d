"""A Faust codec made for one direction refuses the other, with a clear error."""

import pytest

from streammesh.faust import AvroCodec, CodecError


def test_a_codec_refuses_the_direction_it_was_not_given() -> None:
    read_only = AvroCodec(topic="sales.orders.v1")
    with pytest.raises(CodecError, match="not written by this app"):
        read_only.dumps({"order_id": "o-1"})
    with pytest.raises(CodecError, match="not read by this app"):
        read_only.loads(b"\x00\x00\x00\x00\x01")
