"""Seeded generator of `sales.orders.v1`: a web shop's orders, cancellations and refunds.

`python -m domains.sales.generator --rate N --seed S --customers C [--bad-ratio r] [--count N]`

Realistic shapes, all from the seed:

- who buys: the customers of `domains.population` (the ids the profiles carry), each
  picked in proportion to a Pareto-distributed activity, so a few repeat buyers place most
  orders;
- what: baskets of 1-5 distinct SKUs from a catalog with log-normal prices, quantities skewed
  to 1; businesses buy more units; amounts are `Decimal`s with two places, the exact sum of
  quantity x unit price;
- later changes: a small share of events cancels or refunds an earlier order, repeating its
  `order_id`, customer, amount and lines with status `cancelled` / `refunded`;
- optional noise: `duplicate_ratio` re-sends an earlier record unchanged (a producer retry), and
  `bad_ratio` emits records that break the product's contract (negative amount, lowercase
  currency, no line items, a zero quantity) for the quality monitor: they still fit the Avro
  schema and are produced as they are (the SDK producer's `on_invalid="send"`).

Event times advance by exponential gaps (`mean_gap_ms`) from `start_ms`, in simulated time.
Records are keyed by customer id and placed by the id's murmur2 hash, so a customer's orders
and profile share a partition number, as the CLTV processor needs.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from streammesh.demo.population import DEFAULT_START_MS, Segment, population
from streammesh.sdk.generate import generator_parser, paced, producer_from_args, stamped_now

DESCRIPTOR = Path(__file__).parent / "products" / "orders.yaml"
CENT = Decimal("0.01")
CATALOG_SIZE = 500
#: How many placed orders stay eligible for a later cancellation or refund.
OPEN_ORDERS = 5000
#: How many recent records a duplicate may repeat.
RECENT_RECORDS = 256


class Kind(StrEnum):
    """What an event is, for tests and statistics; not part of the record."""

    PLACED = "placed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    DUPLICATE = "duplicate"
    BAD = "bad"


@dataclass(frozen=True, slots=True)
class SalesConfig:
    seed: int
    customers: int
    cancel_ratio: float = 0.03
    refund_ratio: float = 0.04
    duplicate_ratio: float = 0.0
    bad_ratio: float = 0.0
    currency: str = "EUR"
    start_ms: int = DEFAULT_START_MS
    #: Mean simulated time between two events.
    mean_gap_ms: int = 60_000

    def __post_init__(self) -> None:
        ratios = (self.cancel_ratio, self.refund_ratio, self.duplicate_ratio, self.bad_ratio)
        if any(r < 0 for r in ratios) or sum(ratios) >= 1:
            raise ValueError("ratios must be non-negative and sum to less than 1")


@dataclass(frozen=True, slots=True)
class OrderEvent:
    key: str
    value: dict[str, object]
    time_ms: int
    kind: Kind


@dataclass(frozen=True, slots=True)
class _Sku:
    sku: str
    price: Decimal


def catalog(rng: random.Random) -> list[_Sku]:
    """SKUs with log-normal prices (median about 20.00, a long tail of expensive items)."""
    skus = []
    for index in range(CATALOG_SIZE):
        cents = max(99, round(rng.lognormvariate(7.6, 0.9)))
        skus.append(_Sku(f"SKU-{index:05d}", Decimal(cents).scaleb(-2)))
    return skus


def iter_orders(config: SalesConfig) -> Iterator[OrderEvent]:
    """An endless, seeded stream of order events; slice it with `itertools.islice`."""
    rng = random.Random(f"orders:{config.seed}")  # noqa: S311 - a seeded simulation
    customers = population(config.seed, config.customers, config.start_ms)
    cumulative = list(itertools.accumulate(c.activity for c in customers))
    skus = catalog(rng)
    open_orders: list[dict[str, object]] = []
    recent: list[dict[str, object]] = []
    now = config.start_ms
    followup = config.cancel_ratio + config.refund_ratio
    while True:
        now += max(1, round(rng.expovariate(1.0 / config.mean_gap_ms)))
        draw = rng.random()
        if draw < followup and open_orders:
            # swap-remove: an order is cancelled or refunded at most once
            index = rng.randrange(len(open_orders))
            original = open_orders[index]
            open_orders[index] = open_orders[-1]
            open_orders.pop()
            kind = Kind.CANCELLED if draw < config.cancel_ratio else Kind.REFUNDED
            value = {**original, "status": kind.value, "event_time": now}
        elif draw < followup + config.duplicate_ratio and recent:
            value = rng.choice(recent)
            yield OrderEvent(str(value["customer_id"]), value, now, Kind.DUPLICATE)
            continue
        elif draw < followup + config.duplicate_ratio + config.bad_ratio:
            customer = rng.choices(customers, cum_weights=cumulative)[0]
            value = _order(rng, skus, customer.customer_id, customer.segment, config, now)
            yield OrderEvent(customer.customer_id, _corrupt(rng, value), now, Kind.BAD)
            continue
        else:
            customer = rng.choices(customers, cum_weights=cumulative)[0]
            value = _order(rng, skus, customer.customer_id, customer.segment, config, now)
            kind = Kind.PLACED
            if len(open_orders) >= OPEN_ORDERS:
                open_orders[rng.randrange(OPEN_ORDERS)] = value
            else:
                open_orders.append(value)
        if len(recent) >= RECENT_RECORDS:
            recent[rng.randrange(RECENT_RECORDS)] = value
        else:
            recent.append(value)
        yield OrderEvent(str(value["customer_id"]), value, now, kind)


def _order(
    rng: random.Random,
    skus: Sequence[_Sku],
    customer_id: str,
    segment: Segment,
    config: SalesConfig,
    now: int,
) -> dict[str, object]:
    basket = rng.choices((1, 2, 3, 4, 5), (0.40, 0.25, 0.17, 0.11, 0.07))[0]
    most = 3 if segment is Segment.CONSUMER else 20
    lines = []
    for item in rng.sample(skus, basket):
        quantity = min(most, 1 + int(rng.expovariate(1.2 if most == 3 else 0.25)))
        lines.append({"sku": item.sku, "quantity": quantity, "unit_price": item.price})
    amount = sum((line_total(line) for line in lines), Decimal("0.00"))
    return {
        "order_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "customer_id": customer_id,
        "amount": amount.quantize(CENT),
        "currency": config.currency,
        "line_items": lines,
        "status": Kind.PLACED.value,
        "event_time": now,
    }


def line_total(line: dict[str, object]) -> Decimal:
    quantity, price = line["quantity"], line["unit_price"]
    assert isinstance(quantity, int)
    assert isinstance(price, Decimal)
    return quantity * price


def _corrupt(rng: random.Random, value: dict[str, object]) -> dict[str, object]:
    """One of the contract breaks the quality monitor looks for."""
    match rng.randrange(4):
        case 0:
            amount = value["amount"]
            assert isinstance(amount, Decimal)
            return {**value, "amount": -amount}
        case 1:
            return {**value, "currency": str(value["currency"]).lower()}
        case 2:
            return {**value, "line_items": []}
        case _:
            lines = value["line_items"]
            assert isinstance(lines, list)
            return {**value, "line_items": [{**lines[0], "quantity": 0}, *lines[1:]]}


def main(argv: Sequence[str] | None = None) -> None:
    parser = generator_parser(__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--count", type=int, default=None, help="stop after N events")
    parser.add_argument("--bad-ratio", type=float, default=0.0)
    parser.add_argument("--duplicate-ratio", type=float, default=0.0)
    args = parser.parse_args(argv)
    config = SalesConfig(
        seed=args.seed,
        customers=args.customers,
        bad_ratio=args.bad_ratio,
        duplicate_ratio=args.duplicate_ratio,
    )
    events = itertools.islice(iter_orders(config), args.count)
    count = 0
    # "send": the injected bad orders go out as they are, for the quality monitor to catch
    with producer_from_args(args, DESCRIPTOR, on_invalid="send") as producer:
        try:
            for event in paced(events, args.rate):
                value = stamped_now(event.value, "event_time") if args.live else event.value
                producer.publish(value, key=event.key, partition_by=event.key)
                count += 1
        except KeyboardInterrupt:
            pass  # stopping: flush what was published
    print(f"{count} orders to {producer.topic}")


if __name__ == "__main__":
    main()
