"""The processor's logic as pure code over a key-value state, exact under at-least-once.

All state of one source partition `p` (orders and profiles are co-partitioned by customer)
lives in one table, so its changelog partition `p` receives the writes in the order they were
made, and a worker that dies leaves a *prefix* of them behind. Three kinds of keys share it:

- `<customer_id>` -> `CustomerState`: order stats, segment, current lifetime value, and the
  offsets of the last order and profile events applied to it;
- `\\x01<p>\\x1f<segment>` -> `Partial`: this partition's customers in the segment and the sum of
  their lifetime values, with the same two offset markers;
- `\\x02<order_id>` -> `OrderMark`: the order's last applied status, the offset that applied it
  and the placed amount.

An event (topic `T`, offset `o`) for customer `X` writes the customer first, carrying the
change it makes to the segment contributions (`pending`: the deltas, `T` and `o`), then the
partials those deltas touch, each stamped with `o` as its marker for `T`, then the order mark.
Before anything else touches `X`, its pending change is completed on every partial whose marker
for `T` is below `o`. A worker that dies leaves a prefix of these writes; the next one replays
from the committed offsets, orders and profiles interleaved perhaps differently than before.
Completing `X`'s pending change first makes the replay finish the interrupted event with the
delta it had, before another event can move `X` (say a profile processed earlier this time);
records whose marker covers an event skip it. So each event reaches each record exactly once.
Order marks turn a repeated order id (a producer retry at another offset) into a no-op.

The segment aggregate (stage two, keyed by segment) keeps each source partition's latest
partial and their sum in *one* record: a partial replaces the previous one from its partition
and the sum moves by the difference, so applying the same partial twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from domains.marketing.cltv.model import CENT, CONTEXT, ZERO, CltvModel, CustomerHistory

ORDERS = "o"
PROFILES = "p"
PARTIAL_PREFIX = "\x01"
ORDER_PREFIX = "\x02"
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class Status(StrEnum):
    PLACED = "placed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Result(StrEnum):
    """What an event did to the state."""

    APPLIED = "applied"
    REPLAYED = "replayed"  # applied before (a redelivery after a crash): nothing to do
    DUPLICATE = "duplicate"  # the same order id and status again, or a change with no order
    INVALID = "invalid"  # breaks the orders contract; skipped
    IGNORED = "ignored"  # e.g. a tombstone


@dataclass(frozen=True, slots=True)
class Delta:
    segment: str
    customers: int
    total: Decimal


@dataclass(frozen=True, slots=True)
class CustomerState:
    customer_id: str
    segment: str | None = None
    orders_offset: int = -1
    profiles_offset: int = -1
    placed: int = 0  # orders ever placed
    order_count: int = 0  # placed and not cancelled
    net_revenue: Decimal = ZERO
    first_order_ms: int | None = None
    last_order_ms: int | None = None
    lifetime_value: Decimal = ZERO
    #: The contribution change of the last event applied, until the partials have it.
    pending: tuple[Delta, ...] = ()
    pending_topic: str = ""  # ORDERS or PROFILES
    pending_offset: int = -1

    def history(self) -> CustomerHistory:
        return CustomerHistory(
            net_revenue=self.net_revenue,
            order_count=self.order_count,
            first_order_ms=self.first_order_ms,
            last_order_ms=self.last_order_ms,
            segment=self.segment,
        )

    def contribution(self) -> tuple[str, Decimal] | None:
        """(segment, lifetime value) this customer adds to a segment aggregate, if any."""
        if self.segment is None or self.placed == 0:
            return None
        return self.segment, self.lifetime_value


@dataclass(frozen=True, slots=True)
class OrderMark:
    status: Status
    offset: int
    amount: Decimal  # as placed


@dataclass(frozen=True, slots=True)
class Partial:
    """One source partition's share of a segment."""

    orders_offset: int = -1
    profiles_offset: int = -1
    customers: int = 0
    total: Decimal = ZERO


StateValue = CustomerState | OrderMark | Partial


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    #: The customer's state after the event, to publish; None when there is nothing to say.
    customer: CustomerState | None = None
    #: Partial keys this event changed.
    partials: tuple[str, ...] = ()


def partial_key(partition: int, segment: str) -> str:
    return f"{PARTIAL_PREFIX}{partition}\x1f{segment}"


def parse_partial_key(key: str) -> tuple[int, str]:
    partition, segment = key[1:].split("\x1f", 1)
    return int(partition), segment


def order_key(order_id: str) -> str:
    return ORDER_PREFIX + order_id


def millis(value: object) -> int:
    """A timestamp-millis field as epoch milliseconds (decoders give `datetime`s)."""
    if isinstance(value, datetime):
        return (value - _EPOCH) // _MS
    if isinstance(value, int):
        return value
    raise TypeError(f"not a timestamp: {value!r}")


#: The paths of input records whose logical values (decimals, timestamps) the logic reads;
#: the others may be decoded as written (`AvroDeserializer(reads=...)`), which costs less.
LOGICAL_READS: frozenset[tuple[str, ...]] = frozenset({("amount",), ("event_time",)})


def order_problem(order: Mapping[str, object], currency: str) -> str | None:
    """Why an order breaks the orders contract (or is in another currency), or None."""
    customer_id, amount = order.get("customer_id"), order.get("amount")
    lines = order.get("line_items")
    if not isinstance(customer_id, str) or not customer_id or not customer_id.isprintable():
        return "customer_id is empty or not printable"
    if not isinstance(amount, Decimal) or amount < 0:
        return "amount is negative"
    if not isinstance(order.get("currency"), str) or not _CURRENCY.match(str(order["currency"])):
        return "currency is not ISO 4217"
    if order["currency"] != currency:
        return f"currency is not {currency}"
    if not isinstance(lines, list) or not lines:
        return "no line items"
    for line in lines:  # a loop, not any(): this runs for every order
        if not isinstance(line, dict) or line.get("quantity", 0) <= 0:
            return "a line item has no units"
    return None


def apply_order(
    customer: CustomerState,
    mark: OrderMark | None,
    order: Mapping[str, object],
    offset: int,
    model: CltvModel,
) -> tuple[CustomerState, OrderMark] | None:
    """The customer and order mark after a valid order event, or None if it changes nothing."""
    status = Status(str(order["status"]))
    amount = order["amount"]
    event_time = millis(order["event_time"])
    assert isinstance(amount, Decimal)
    # the new stats as locals and one `replace`: a state record is rebuilt once per event
    placed, count, net = customer.placed, customer.order_count, customer.net_revenue
    first, last = customer.first_order_ms, customer.last_order_ms
    if status is Status.PLACED:
        if mark is not None:
            return None
        placed, count, net = placed + 1, count + 1, CONTEXT.add(net, amount)
        first = event_time if first is None else min(first, event_time)
        last = event_time if last is None else max(last, event_time)
        new_mark = OrderMark(status, offset, amount)
    else:
        if mark is None or mark.status is not Status.PLACED:
            return None  # unknown order, or already cancelled or refunded
        if status is Status.CANCELLED:
            count, net = count - 1, CONTEXT.subtract(net, mark.amount)
        else:  # a refund returns at most what was paid
            net = CONTEXT.subtract(net, min(amount, mark.amount))
        new_mark = OrderMark(status, offset, mark.amount)
    segment = customer.segment
    value = model.predict(CustomerHistory(net, count, first, last, segment))
    updated = _moved(customer, ORDERS, offset, segment, placed, count, net, first, last, value)
    return updated, new_mark


def apply_profile(
    customer: CustomerState, profile: Mapping[str, object], offset: int, model: CltvModel
) -> CustomerState:
    segment = profile["segment"]
    assert isinstance(segment, str)
    c = customer
    net, count, first, last = c.net_revenue, c.order_count, c.first_order_ms, c.last_order_ms
    value = model.predict(CustomerHistory(net, count, first, last, segment))
    return _moved(c, PROFILES, offset, segment, c.placed, count, net, first, last, value)


def _moved(
    before: CustomerState,
    topic: str,
    offset: int,
    segment: str | None,
    placed: int,
    count: int,
    net: Decimal,
    first: int | None,
    last: int | None,
    value: Decimal,
) -> CustomerState:
    """`before` after the event (`topic`, `offset`), carrying its contribution change as
    `pending`. Built in one call: `dataclasses.replace` twice was a tenth of an order's cost."""
    new = None if segment is None or placed == 0 else (segment, value)
    return CustomerState(
        before.customer_id,
        segment,
        offset if topic == ORDERS else before.orders_offset,
        offset if topic == PROFILES else before.profiles_offset,
        placed,
        count,
        net,
        first,
        last,
        value,
        _deltas(before.contribution(), new),
        topic,
        offset,
    )


def contribution_deltas(before: CustomerState, after: CustomerState) -> list[Delta]:
    """What leaves and enters the segment aggregates when a customer changes."""
    return list(_deltas(before.contribution(), after.contribution()))


def _deltas(old: tuple[str, Decimal] | None, new: tuple[str, Decimal] | None) -> tuple[Delta, ...]:
    if old == new:
        return ()
    if old is not None and new is not None and old[0] == new[0]:
        return (Delta(old[0], 0, CONTEXT.subtract(new[1], old[1])),)
    if old is None:
        return () if new is None else (Delta(new[0], 1, new[1]),)
    if new is None:
        return (Delta(old[0], -1, -old[1]),)
    return Delta(old[0], -1, -old[1]), Delta(new[0], 1, new[1])


class CustomerProcessor:
    """Stage one: orders and profiles of one partition into customer state and partials."""

    def __init__(self, state: MutableMapping[str, StateValue], model: CltvModel) -> None:
        self.state = state
        self.model = model

    def customer(self, customer_id: str) -> CustomerState | None:
        value = self.state.get(customer_id)
        return value if isinstance(value, CustomerState) else None

    def partial(self, key: str) -> Partial:
        value = self.state.get(key)
        return value if isinstance(value, Partial) else Partial()

    def on_order(self, partition: int, offset: int, order: Mapping[str, object]) -> Outcome:
        if order_problem(order, self.model.currency) is not None:
            return Outcome(Result.INVALID)
        customer_id, order_id = str(order["customer_id"]), str(order["order_id"])
        key = order_key(order_id)
        value = self.state.get(key)
        mark = value if isinstance(value, OrderMark) else None
        before = self.customer(customer_id) or CustomerState(customer_id)
        completed = self._complete(partition, before)
        if mark is not None and mark.offset >= offset:
            return Outcome(Result.REPLAYED, before, completed)  # every write of it survived
        applied = apply_order(before, mark, order, offset, self.model)
        if applied is None:
            return Outcome(Result.DUPLICATE, before if before.placed else None, completed)
        after, new_mark = applied
        if before.orders_offset >= offset:  # the customer took it before a crash; so did
            self.state[key] = new_mark  # the partials, completed above; the mark did not
            return Outcome(Result.APPLIED, before, completed)
        changed = self._update(partition, after)
        self.state[key] = new_mark
        return Outcome(Result.APPLIED, self.customer(customer_id), completed + changed)

    def on_profile(
        self, partition: int, offset: int, profile: Mapping[str, object] | None
    ) -> Outcome:
        if profile is None:
            return Outcome(Result.IGNORED)  # erasure: the customer's value stays, unsegmented
        customer_id = str(profile["customer_id"])
        before = self.customer(customer_id) or CustomerState(customer_id)
        completed = self._complete(partition, before)
        if before.profiles_offset >= offset:
            return Outcome(Result.REPLAYED, before if before.placed else None, completed)
        after = apply_profile(before, profile, offset, self.model)
        changed = self._update(partition, after)
        customer = self.customer(customer_id)
        return Outcome(Result.APPLIED, customer if after.placed else None, completed + changed)

    def _update(self, partition: int, after: CustomerState) -> tuple[str, ...]:
        """Write the customer with its pending change, then the partials."""
        self.state[after.customer_id] = after
        return self._complete(partition, after)

    def _complete(self, partition: int, customer: CustomerState) -> tuple[str, ...]:
        """Apply the customer's pending change to every partial that lacks it."""
        changed = []
        topic, offset = customer.pending_topic, customer.pending_offset
        for delta in customer.pending:
            key = partial_key(partition, delta.segment)
            partial = self.partial(key)
            marker = partial.orders_offset if topic == ORDERS else partial.profiles_offset
            if marker >= offset:
                continue
            customers = partial.customers + delta.customers
            total = CONTEXT.add(partial.total, delta.total)
            if topic == ORDERS:
                partial = Partial(offset, partial.profiles_offset, customers, total)
            else:
                partial = Partial(partial.orders_offset, offset, customers, total)
            self.state[key] = partial
            changed.append(key)
        return tuple(changed)


@dataclass(frozen=True, slots=True)
class SegmentState:
    """Stage two: a segment's aggregate over the latest partial of every source partition."""

    partials: dict[int, tuple[int, Decimal]] = field(default_factory=dict)
    customers: int = 0
    total: Decimal = ZERO

    def average(self) -> Decimal:
        if self.customers <= 0:
            return ZERO
        return CONTEXT.divide(self.total, Decimal(self.customers)).quantize(CENT, context=CONTEXT)


def apply_partial(
    state: SegmentState, partition: int, customers: int, total: Decimal
) -> SegmentState | None:
    """`state` with `partition`'s partial replaced, or None if it is the one already applied."""
    old = state.partials.get(partition, (0, ZERO))
    if old == (customers, total):
        return None
    partials = {**state.partials, partition: (customers, total)}
    return SegmentState(
        partials=partials,
        customers=state.customers + customers - old[0],
        total=CONTEXT.add(state.total, CONTEXT.subtract(total, old[1])),
    )
