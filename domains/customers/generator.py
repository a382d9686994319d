"""Seeded generator of `customers.profiles.v1`: every customer's profile, then segment moves.

`python -m domains.customers.generator --seed S --customers C [--changes N] [--rate R]`

The customers are those of `domains.population` for the seed, the same ids the sales
generator orders for. First comes each customer's profile as of signup, in signup order; then
`changes` later versions, each moving one customer to another segment (customers who buy more
are likelier to move, mostly upwards), spread over the simulated history. Records are keyed by
customer id and placed by the id's murmur2 hash, like the sales generator's orders: the CLTV
processor relies on the two products being co-partitioned.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from streammesh.demo.population import DAY_MS, DEFAULT_START_MS, Customer, Segment, population
from streammesh.sdk.generate import generator_parser, paced, producer_from_args, stamped_now

DESCRIPTOR = Path(__file__).parent / "products" / "profiles.yaml"

#: Where a customer moves from each segment, with weights: mostly up, sometimes down.
MOVES: dict[Segment, tuple[tuple[Segment, ...], tuple[float, ...]]] = {
    Segment.CONSUMER: ((Segment.SMALL_BUSINESS, Segment.ENTERPRISE), (0.9, 0.1)),
    Segment.SMALL_BUSINESS: ((Segment.ENTERPRISE, Segment.CONSUMER), (0.6, 0.4)),
    Segment.ENTERPRISE: ((Segment.SMALL_BUSINESS, Segment.CONSUMER), (0.8, 0.2)),
}


@dataclass(frozen=True, slots=True)
class ProfilesConfig:
    seed: int
    customers: int
    changes: int = 0
    start_ms: int = DEFAULT_START_MS
    #: Simulated time over which the segment changes are spread.
    span_ms: int = 365 * DAY_MS


@dataclass(frozen=True, slots=True)
class ProfileEvent:
    key: str
    value: dict[str, object]
    time_ms: int


def profile(customer: Customer, segment: Segment, updated_at_ms: int) -> dict[str, object]:
    """A `customers.profiles.v1` value (timestamps as epoch milliseconds)."""
    return {
        "customer_id": customer.customer_id,
        "email": customer.email,
        "segment": segment.value,
        "country": customer.country,
        "signup_time": customer.signup_time_ms,
        "updated_at": updated_at_ms,
    }


def iter_profiles(config: ProfilesConfig) -> Iterator[ProfileEvent]:
    """Every customer's signup profile, then `config.changes` segment moves, in time order."""
    customers = population(config.seed, config.customers, config.start_ms)
    for customer in sorted(customers, key=lambda c: c.signup_time_ms):
        yield ProfileEvent(
            customer.customer_id,
            profile(customer, customer.segment, customer.signup_time_ms),
            customer.signup_time_ms,
        )
    yield from iter_segment_changes(config, customers)


def iter_segment_changes(
    config: ProfilesConfig, customers: Sequence[Customer]
) -> Iterator[ProfileEvent]:
    rng = random.Random(f"profiles:{config.seed}")  # noqa: S311 - a seeded simulation
    current = {c.customer_id: c.segment for c in customers}
    cumulative = list(itertools.accumulate(c.activity for c in customers))
    times = sorted(config.start_ms + rng.randrange(config.span_ms) for _ in range(config.changes))
    for time_ms in times:
        customer = rng.choices(customers, cum_weights=cumulative)[0]
        targets, weights = MOVES[current[customer.customer_id]]
        segment = rng.choices(targets, weights)[0]
        current[customer.customer_id] = segment
        yield ProfileEvent(customer.customer_id, profile(customer, segment, time_ms), time_ms)


def main(argv: Sequence[str] | None = None) -> None:
    parser = generator_parser(__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=0, help="segment moves after signup")
    args = parser.parse_args(argv)
    config = ProfilesConfig(seed=args.seed, customers=args.customers, changes=args.changes)
    count = 0
    with producer_from_args(args, DESCRIPTOR) as producer:
        for event in paced(iter_profiles(config), args.rate):
            value = stamped_now(event.value, "updated_at") if args.live else event.value
            producer.publish(value, key=event.key, partition_by=event.key)
            count += 1
    print(f"{count} profiles to {producer.topic}")


if __name__ == "__main__":
    main()
