"""The generators are pure functions of their seed, agree on the customers, and produce
distributions a shop would: repeat buyers, small baskets, exact amounts, rare changes."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import fastavro
import pytest

from domains.customers.generator import ProfilesConfig, iter_profiles
from domains.sales.generator import Kind, SalesConfig, iter_orders, line_total
from streammesh.demo.population import population

ROOT = Path(__file__).resolve().parents[3]


def orders(config: SalesConfig, count: int = 20_000) -> list[dict[str, object]]:
    return [event.value for event in itertools.islice(iter_orders(config), count)]


def test_same_seed_same_history_other_seed_other_history() -> None:
    config = SalesConfig(seed=3, customers=200, duplicate_ratio=0.01, bad_ratio=0.01)
    assert orders(config, 2000) == orders(config, 2000)
    assert orders(config, 2000) != orders(SalesConfig(seed=4, customers=200), 2000)
    profiles = ProfilesConfig(seed=3, customers=200, changes=50)
    assert list(iter_profiles(profiles)) == list(iter_profiles(profiles))


def test_orders_and_profiles_share_the_customers_of_the_seed() -> None:
    ids = {c.customer_id for c in population(5, 300)}
    assert len(ids) == 300
    ordered = {str(v["customer_id"]) for v in orders(SalesConfig(seed=5, customers=300), 5000)}
    profiled = {e.key for e in iter_profiles(ProfilesConfig(seed=5, customers=300, changes=30))}
    assert ordered <= ids
    assert profiled == ids


def test_few_customers_place_many_orders() -> None:
    placed = Counter(
        e.key
        for e in itertools.islice(iter_orders(SalesConfig(seed=1, customers=1000)), 30_000)
        if e.kind is Kind.PLACED
    )
    counts = sorted(placed.values(), reverse=True)
    top_tenth = sum(counts[: len(counts) // 10]) / sum(counts)
    assert 0.25 < top_tenth < 0.6  # power law, but no single customer owns the shop
    assert counts[0] / sum(counts) < 0.05
    assert sum(1 for c in counts if c > 1) / len(counts) > 0.8  # most customers come back


def test_baskets_amounts_and_change_shares() -> None:
    events = list(itertools.islice(iter_orders(SalesConfig(seed=2, customers=500)), 20_000))
    kinds = Counter(e.kind for e in events)
    assert 0.02 < kinds[Kind.CANCELLED] / len(events) < 0.04
    assert 0.03 < kinds[Kind.REFUNDED] / len(events) < 0.05
    placed: dict[object, dict[str, object]] = {}
    for event in events:
        value = event.value
        lines = value["line_items"]
        amount = value["amount"]
        assert isinstance(lines, list)
        assert isinstance(amount, Decimal)
        assert 1 <= len(lines) <= 5
        assert amount == sum(line_total(line) for line in lines)
        assert amount.as_tuple().exponent == -2
        assert value["currency"] == "EUR"
        if event.kind is Kind.PLACED:
            placed[value["order_id"]] = value
        else:  # a change repeats an order placed earlier, once
            original = placed.pop(value["order_id"])
            assert {
                **original,
                "status": value["status"],
                "event_time": value["event_time"],
            } == value
            assert value["status"] == event.kind.value
    assert [e.time_ms for e in events] == sorted(e.time_ms for e in events)


def test_duplicates_repeat_records_and_bad_records_break_the_contract() -> None:
    config = SalesConfig(seed=9, customers=100, duplicate_ratio=0.05, bad_ratio=0.05)
    events = list(itertools.islice(iter_orders(config), 5000))
    seen: list[dict[str, object]] = []
    for event in events:
        if event.kind is Kind.DUPLICATE:
            assert event.value in seen
        elif event.kind is Kind.BAD:
            value = event.value
            lines = value["line_items"]
            amount = value["amount"]
            assert isinstance(lines, list)
            assert isinstance(amount, Decimal)
            assert (
                amount < 0
                or value["currency"] != "EUR"
                or not lines
                or any(line["quantity"] <= 0 for line in lines)
            )
        else:
            seen.append(event.value)
    kinds = Counter(e.kind for e in events)
    assert 150 < kinds[Kind.DUPLICATE] < 350
    assert 150 < kinds[Kind.BAD] < 350


@pytest.mark.parametrize(
    ("schema", "make"),
    [
        ("schemas/avro/sales/order.avsc", "orders"),
        ("schemas/avro/customers/profile.avsc", "profiles"),
    ],
)
def test_every_record_fits_the_product_schema(schema: str, make: str) -> None:
    parsed = fastavro.parse_schema(json.loads((ROOT / schema).read_text()))
    config = SalesConfig(seed=1, customers=50, duplicate_ratio=0.02, bad_ratio=0.05)
    values = (
        orders(config, 2000)
        if make == "orders"
        else [e.value for e in iter_profiles(ProfilesConfig(seed=1, customers=50, changes=40))]
    )
    for value in values:
        assert fastavro.validate(value, parsed, raise_errors=True)


def test_segments_move_over_time() -> None:
    events = list(iter_profiles(ProfilesConfig(seed=4, customers=300, changes=100)))
    assert len(events) == 400
    first = {e.key: e.value["segment"] for e in events[:300]}
    moves = events[300:]
    assert all(e.time_ms >= max(x.time_ms for x in events[:300]) for e in moves)
    current = dict(first)
    for event in moves:
        assert event.value["segment"] != current[event.key]  # a change is a move
        current[event.key] = event.value["segment"]
    assert Counter(first.values())["consumer"] > 200
