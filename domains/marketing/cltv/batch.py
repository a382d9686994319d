"""CLTV computed in one pass over a finished history: the reference for the stream processor.

Written independently of `logic.py`: it groups each customer's events by order id instead of
keeping markers, so the integration tests and the benchmark can compare the processor's output
with it, and `fit.py` uses it for the histories it fits on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domains.marketing.cltv.logic import millis, order_problem
from domains.marketing.cltv.model import CENT, CONTEXT, ZERO, CltvModel, CustomerHistory


@dataclass(frozen=True, slots=True)
class CustomerValue:
    customer_id: str
    segment: str | None
    lifetime_value: Decimal
    net_revenue: Decimal
    order_count: int
    first_order_ms: int
    last_order_ms: int


@dataclass(frozen=True, slots=True)
class SegmentValue:
    segment: str
    customers: int
    total: Decimal
    average: Decimal


def histories(
    orders: Iterable[Mapping[str, object]], currency: str
) -> dict[str, tuple[Decimal, int, int, int]]:
    """Per customer: (net revenue, orders not cancelled, first and last order time).

    An order counts from its first valid `placed` event; its first later `cancelled` or
    `refunded` event (whichever comes first) settles it; anything else is ignored.
    """
    placed: dict[str, tuple[str, Decimal, int]] = {}  # order id -> customer, amount, time
    settled: dict[str, tuple[str, Decimal]] = {}  # order id -> status, amount returned
    for order in orders:
        if order_problem(order, currency) is not None:
            continue
        order_id, status, amount = str(order["order_id"]), order["status"], order["amount"]
        assert isinstance(amount, Decimal)
        if status == "placed":
            if order_id not in placed:
                event_time = millis(order["event_time"])
                placed[order_id] = (str(order["customer_id"]), amount, event_time)
        elif order_id in placed and order_id not in settled:
            paid = placed[order_id][1]
            settled[order_id] = (str(status), paid if status == "cancelled" else min(amount, paid))
    result: dict[str, tuple[Decimal, int, int, int]] = {}
    for order_id, (customer_id, amount, event_time) in placed.items():
        net, count, first, last = result.get(customer_id, (ZERO, 0, event_time, event_time))
        net = CONTEXT.add(net, amount)
        count += 1
        if order_id in settled:
            status, returned = settled[order_id]
            net = CONTEXT.subtract(net, returned)
            count -= status == "cancelled"
        result[customer_id] = (net, count, min(first, event_time), max(last, event_time))
    return result


def latest_segments(profiles: Iterable[Mapping[str, object] | None]) -> dict[str, str]:
    segments: dict[str, str] = {}
    for profile in profiles:
        if profile is not None:
            segments[str(profile["customer_id"])] = str(profile["segment"])
    return segments


def customer_values(
    orders: Iterable[Mapping[str, object]],
    profiles: Iterable[Mapping[str, object] | None],
    model: CltvModel,
) -> dict[str, CustomerValue]:
    segments = latest_segments(profiles)
    values = {}
    for customer_id, (net, count, first, last) in histories(orders, model.currency).items():
        segment = segments.get(customer_id)
        value = model.predict(CustomerHistory(net, count, first, last, segment))
        values[customer_id] = CustomerValue(customer_id, segment, value, net, count, first, last)
    return values


def segment_values(customers: Iterable[CustomerValue]) -> dict[str, SegmentValue]:
    sums: dict[str, tuple[int, Decimal]] = {}
    for customer in customers:
        if customer.segment is not None:
            count, total = sums.get(customer.segment, (0, ZERO))
            sums[customer.segment] = (count + 1, CONTEXT.add(total, customer.lifetime_value))
    return {
        segment: SegmentValue(
            segment,
            count,
            total,
            CONTEXT.divide(total, Decimal(count)).quantize(CENT, context=CONTEXT),
        )
        for segment, (count, total) in sums.items()
    }
