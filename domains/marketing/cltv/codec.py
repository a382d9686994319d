"""Marketing's state format: the table records of `logic.py`, encoded compactly for the
changelog topics (`encode_state`, `decode_state`, and `StateCodec` for Faust). The product
codecs are the runtime's (`streammesh.faust.codecs`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from faust.serializers.codecs import Codec

from domains.marketing.cltv.logic import (
    CustomerState,
    Delta,
    OrderMark,
    Partial,
    SegmentState,
    StateValue,
    Status,
)
from streammesh.faust.codecs import CodecError

__all__ = ["StateCodec", "decode_state", "encode_state"]


def _dec(text: object) -> Decimal:
    return Decimal(str(text))


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def encode_state(value: StateValue | SegmentState) -> bytes:
    """A table record as a compact JSON array tagged by its kind."""
    match value:
        case CustomerState():
            row: list[object] = [
                "c",
                value.customer_id,
                value.segment,
                value.orders_offset,
                value.profiles_offset,
                value.placed,
                value.order_count,
                str(value.net_revenue),
                value.first_order_ms,
                value.last_order_ms,
                str(value.lifetime_value),
                [[d.segment, d.customers, str(d.total)] for d in value.pending],
                value.pending_topic,
                value.pending_offset,
            ]
        case OrderMark():
            row = ["o", value.status.value, value.offset, str(value.amount)]
        case Partial():
            row = [
                "p",
                value.orders_offset,
                value.profiles_offset,
                value.customers,
                str(value.total),
            ]
        case SegmentState():
            partials = [[p, n, str(total)] for p, (n, total) in sorted(value.partials.items())]
            row = ["s", partials, value.customers, str(value.total)]
    return orjson.dumps(row)


def decode_state(data: bytes) -> StateValue | SegmentState:
    row = orjson.loads(data)
    if not isinstance(row, list) or not row:
        raise CodecError("a state record is a tagged JSON array")
    match row:
        case [
            "c",
            customer_id,
            segment,
            oo,
            po,
            placed,
            count,
            net,
            first,
            last,
            ltv,
            pending,
            topic,
            pending_offset,
        ]:
            return CustomerState(
                customer_id=str(customer_id),
                segment=None if segment is None else str(segment),
                orders_offset=int(oo),
                profiles_offset=int(po),
                placed=int(placed),
                order_count=int(count),
                net_revenue=_dec(net),
                first_order_ms=_opt_int(first),
                last_order_ms=_opt_int(last),
                lifetime_value=_dec(ltv),
                pending=tuple(Delta(str(g), int(n), _dec(t)) for g, n, t in pending),
                pending_topic=str(topic),
                pending_offset=int(pending_offset),
            )
        case ["o", status, offset, amount]:
            return OrderMark(Status(status), int(offset), _dec(amount))
        case ["p", oo, po, customers, total]:
            return Partial(int(oo), int(po), int(customers), _dec(total))
        case ["s", partials, customers, total]:
            return SegmentState(
                partials={int(p): (int(n), _dec(t)) for p, n, t in partials},
                customers=int(customers),
                total=_dec(total),
            )
    raise CodecError(f"unknown state record {row[0]!r}")


class StateCodec(Codec):
    """The table records of `logic.py` for Faust's changelog topics."""

    def _dumps(self, s: Any) -> bytes:
        if not isinstance(s, CustomerState | OrderMark | Partial | SegmentState):
            raise CodecError(f"not a state record: {type(s).__name__}")
        return encode_state(s)

    def _loads(self, s: bytes) -> Any:
        return decode_state(s)
