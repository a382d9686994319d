"""The incremental logic equals the batch computation of the same model, and stays equal when
events are redelivered: after a crash that kept any prefix of the state writes, replaying from
any offset not past the lost writes, in any interleaving of orders and profiles, converges to
the same customers, partials and segment aggregates."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domains.customers.generator import ProfilesConfig, iter_profiles
from domains.marketing.cltv.batch import customer_values, segment_values
from domains.marketing.cltv.codec import decode_state, encode_state
from domains.marketing.cltv.logic import (
    PARTIAL_PREFIX,
    CustomerProcessor,
    CustomerState,
    Delta,
    OrderMark,
    Partial,
    Result,
    SegmentState,
    StateValue,
    Status,
    apply_partial,
    contribution_deltas,
    millis,
    order_problem,
    parse_partial_key,
)
from domains.marketing.cltv.model import CustomerHistory, FrequencyLifetimeModel
from domains.sales.generator import SalesConfig, iter_orders
from streammesh.sdk.partition import partition_of as customer_partition

MODEL = FrequencyLifetimeModel(
    r=Decimal("0.4"), alpha_days=Decimal("1.5"), lifetime_days=Decimal("120")
)
PARTITIONS = 3


@dataclass(frozen=True)
class Event:
    topic: str  # "orders" or "profiles"
    partition: int
    offset: int
    value: dict[str, object]


def history(seed: int, customers: int = 60, orders: int = 3000, changes: int = 40) -> list[Event]:
    """Profiles and orders merged by event time, placed on partitions by customer."""
    sales = SalesConfig(seed=seed, customers=customers, duplicate_ratio=0.03, bad_ratio=0.02)
    profiles = ProfilesConfig(seed=seed, customers=customers, changes=changes)
    timeline = heapq.merge(
        ((e.time_ms, 0, "profiles", e.value) for e in iter_profiles(profiles)),
        ((e.time_ms, 1, "orders", e.value) for e in itertools.islice(iter_orders(sales), orders)),
    )
    offsets: dict[tuple[str, int], int] = {}
    events = []
    for _time, _order, topic, value in timeline:
        partition = customer_partition(str(value["customer_id"]), PARTITIONS)
        offset = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = offset + 1
        events.append(Event(topic, partition, offset, value))
    return events


class RecordingState(dict[str, StateValue]):
    """A dict that remembers every write, in order, as the changelog would."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, StateValue, int]] = []  # key, value, event index
        self.event = -1

    def __setitem__(self, key: str, value: StateValue) -> None:
        super().__setitem__(key, value)
        self.writes.append((key, value, self.event))


def run(processor: CustomerProcessor, events: list[Event]) -> None:
    state = processor.state
    for index, event in enumerate(events):
        if isinstance(state, RecordingState):
            state.event = index
        if event.topic == "orders":
            processor.on_order(event.partition, event.offset, event.value)
        else:
            processor.on_profile(event.partition, event.offset, event.value)


def customers_of(state: MutableMapping[str, StateValue]) -> dict[str, CustomerState]:
    return {k: v for k, v in state.items() if isinstance(v, CustomerState)}


def aggregates(state: MutableMapping[str, StateValue]) -> dict[str, SegmentState]:
    """Stage two over the final partials of stage one."""
    segments: dict[str, SegmentState] = {}
    for key, value in state.items():
        if key.startswith(PARTIAL_PREFIX):
            assert isinstance(value, Partial)
            partition, segment = parse_partial_key(key)
            before = segments.get(segment, SegmentState())
            segments[segment] = (
                apply_partial(before, partition, value.customers, value.total) or before
            )
    return segments


def assert_matches_batch(state: MutableMapping[str, StateValue], events: list[Event]) -> None:
    expected = customer_values(
        (e.value for e in events if e.topic == "orders"),
        (e.value for e in events if e.topic == "profiles"),
        MODEL,
    )
    got = {k: v for k, v in customers_of(state).items() if v.placed > 0}
    assert set(got) == set(expected)
    for customer_id, want in expected.items():
        have = got[customer_id]
        assert (have.segment, have.lifetime_value, have.net_revenue, have.order_count) == (
            want.segment,
            want.lifetime_value,
            want.net_revenue,
            want.order_count,
        )
        assert (have.first_order_ms, have.last_order_ms) == (
            want.first_order_ms,
            want.last_order_ms,
        )
    segments = aggregates(state)
    for segment, want_segment in segment_values(expected.values()).items():
        have_segment = segments[segment]
        assert (have_segment.customers, have_segment.total, have_segment.average()) == (
            want_segment.customers,
            want_segment.total,
            want_segment.average,
        )
    assert {s for s, v in segments.items() if v.customers} == set(segment_values(expected.values()))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_equals_batch(seed: int) -> None:
    events = history(seed)
    processor = CustomerProcessor({}, MODEL)
    run(processor, events)
    assert_matches_batch(processor.state, events)


def test_redelivering_everything_changes_nothing() -> None:
    events = history(4)
    processor = CustomerProcessor({}, MODEL)
    run(processor, events)
    before = dict(processor.state)
    run(processor, events)  # at-least-once: the whole history again, same offsets
    assert processor.state == before


def replays(
    events: list[Event], start: dict[tuple[str, int], int], rng: random.Random
) -> Iterator[Event]:
    """Events from the committed offsets on, per topic-partition in order, randomly interleaved."""
    queues = {
        tp: [e for e in events if (e.topic, e.partition) == tp and e.offset >= offset]
        for tp, offset in start.items()
    }
    while any(queues.values()):
        tp = rng.choice([tp for tp, queue in queues.items() if queue])
        yield queues[tp].pop(0)


@pytest.mark.parametrize("seed", range(40))
def test_crash_at_any_write_then_replay_converges(seed: int) -> None:
    """A worker dies after a random prefix of its writes reached the changelog; the next one
    restores that prefix and reprocesses from committed offsets at or before the first event
    whose writes were lost."""
    rng = random.Random(seed)
    events = history(10 + seed % 3, customers=30, orders=800, changes=30)
    first = CustomerProcessor(RecordingState(), MODEL)
    run(first, events)
    state = first.state
    assert isinstance(state, RecordingState)
    cut = rng.randrange(len(state.writes) + 1)
    restored: dict[str, StateValue] = {}
    for key, value, _index in state.writes[:cut]:
        restored[key] = value
    lost_from = state.writes[cut][2] if cut < len(state.writes) else len(events)
    # committed offsets: anywhere up to the first event whose writes were lost, never past it
    done: dict[tuple[str, int], list[int]] = {}
    for event in events[:lost_from]:
        done.setdefault((event.topic, event.partition), []).append(event.offset + 1)
    start = {(e.topic, e.partition): 0 for e in events}
    for tp, offsets in done.items():
        start[tp] = rng.choice([0, *offsets])
    second = CustomerProcessor(restored, MODEL)
    run(second, list(replays(events, start, rng)))
    assert_matches_batch(second.state, events)


def test_duplicate_order_id_is_applied_once() -> None:
    processor = CustomerProcessor({}, MODEL)
    order = {
        "order_id": "o-1",
        "customer_id": "c-1",
        "amount": Decimal("10.00"),
        "currency": "EUR",
        "line_items": [{"sku": "s", "quantity": 1, "unit_price": Decimal("10.00")}],
        "status": "placed",
        "event_time": 1000,
    }
    assert processor.on_order(0, 0, order).result is Result.APPLIED
    assert processor.on_order(0, 7, order).result is Result.DUPLICATE  # a retry, new offset
    assert processor.on_order(0, 0, order).result is Result.REPLAYED  # redelivery
    customer = processor.customer("c-1")
    assert customer is not None
    assert (customer.placed, customer.net_revenue) == (1, Decimal("10.00"))
    refund = {**order, "status": "refunded", "amount": Decimal("4.00"), "event_time": 2000}
    assert processor.on_order(0, 8, refund).result is Result.APPLIED
    assert processor.on_order(0, 9, refund).result is Result.DUPLICATE
    cancel = {**order, "status": "cancelled", "event_time": 3000}
    assert processor.on_order(0, 10, cancel).result is Result.DUPLICATE  # already settled
    customer = processor.customer("c-1")
    assert customer is not None
    assert (customer.order_count, customer.net_revenue) == (1, Decimal("6.00"))
    assert processor.state["\x02o-1"] == OrderMark(Status.REFUNDED, 8, Decimal("10.00"))


def test_cancellation_removes_the_order_and_its_amount() -> None:
    processor = CustomerProcessor({}, MODEL)
    base = {
        "customer_id": "c",
        "currency": "EUR",
        "line_items": [{"sku": "s", "quantity": 2, "unit_price": Decimal("5.00")}],
        "amount": Decimal("10.00"),
        "event_time": 0,
    }
    processor.on_order(0, 0, {**base, "order_id": "a", "status": "placed"})
    processor.on_order(
        0, 1, {**base, "order_id": "b", "status": "placed", "event_time": 86_400_000}
    )
    processor.on_order(0, 2, {**base, "order_id": "a", "status": "cancelled", "event_time": 9})
    customer = processor.customer("c")
    assert customer is not None
    assert (customer.placed, customer.order_count, customer.net_revenue) == (2, 1, Decimal("10.00"))
    assert customer.lifetime_value == MODEL.predict(
        CustomerHistory(Decimal("10.00"), 1, 0, 86_400_000, None)
    )
    unknown = {**base, "order_id": "zzz", "status": "cancelled"}
    assert processor.on_order(0, 3, unknown).result is Result.DUPLICATE


def test_segment_move_takes_the_contribution_along() -> None:
    before = CustomerState("c", "consumer", placed=1, lifetime_value=Decimal("7.50"))
    moved = CustomerState("c", "enterprise", placed=1, lifetime_value=Decimal("7.50"))
    assert contribution_deltas(before, moved) == [
        Delta("consumer", -1, Decimal("-7.50")),
        Delta("enterprise", 1, Decimal("7.50")),
    ]
    grown = CustomerState("c", "consumer", placed=2, lifetime_value=Decimal("9.00"))
    assert contribution_deltas(before, grown) == [Delta("consumer", 0, Decimal("1.50"))]
    unsegmented = CustomerState("c", None, placed=1, lifetime_value=Decimal("7.50"))
    assert contribution_deltas(unsegmented, before) == [Delta("consumer", 1, Decimal("7.50"))]
    assert contribution_deltas(before, before) == []


def test_segment_aggregate_replaces_partials_and_ignores_repeats() -> None:
    state = SegmentState()
    state = apply_partial(state, 0, 2, Decimal("10.00")) or state
    state = apply_partial(state, 1, 1, Decimal("5.25")) or state
    assert (state.customers, state.total) == (3, Decimal("15.25"))
    assert apply_partial(state, 1, 1, Decimal("5.25")) is None  # the same partial again
    state = apply_partial(state, 0, 1, Decimal("4.00")) or state  # a customer left partition 0
    assert (state.customers, state.total, state.average()) == (2, Decimal("9.25"), Decimal("4.62"))
    state = apply_partial(state, 0, 0, Decimal("0.00")) or state
    state = apply_partial(state, 1, 0, Decimal("0.00")) or state
    assert (state.customers, state.total, state.average()) == (0, Decimal("0.00"), Decimal("0.00"))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"amount": Decimal("-1.00")}, "amount is negative"),
        ({"currency": "eur"}, "currency is not ISO 4217"),
        ({"currency": "USD"}, "currency is not EUR"),
        ({"line_items": []}, "no line items"),
        (
            {"line_items": [{"sku": "s", "quantity": 0, "unit_price": Decimal(1)}]},
            "a line item has no units",
        ),
        ({"customer_id": "\x01x"}, "customer_id is empty or not printable"),
        ({}, None),
    ],
)
def test_orders_breaking_the_contract_are_named(
    change: dict[str, object], problem: str | None
) -> None:
    order = {
        "order_id": "o",
        "customer_id": "c",
        "amount": Decimal("1.00"),
        "currency": "EUR",
        "line_items": [{"sku": "s", "quantity": 1, "unit_price": Decimal("1.00")}],
    }
    assert order_problem({**order, **change}, "EUR") == problem


def test_state_records_round_trip_through_the_codec() -> None:
    events = history(5, customers=20, orders=400, changes=10)
    processor = CustomerProcessor({}, MODEL)
    run(processor, events)
    values = list(processor.state.values())
    assert {type(v) for v in values} == {CustomerState, OrderMark, Partial}
    for value in values:
        assert decode_state(encode_state(value)) == value
    segment = SegmentState({0: (1, Decimal("1.10")), 4: (2, Decimal("3.00"))}, 3, Decimal("4.10"))
    assert decode_state(encode_state(segment)) == segment


def test_timestamps_decode_from_datetimes_exactly() -> None:
    assert millis(datetime(2025, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)) == 1_735_689_600_123
    assert millis(5) == 5
