"""The simulated customer base: who the customers are, derived from a seed alone.

Both the customers and the sales generators draw from this, so the same seed gives the same
customer ids in `customers.profiles.v1` and `sales.orders.v1`. It is the simulated world the
domains share, so it lives with the demo in the platform package: no domain imports another's code.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from enum import StrEnum

#: 2025-01-01T00:00:00Z: simulated history starts here unless told otherwise.
DEFAULT_START_MS = 1_735_689_600_000
DAY_MS = 86_400_000


class Segment(StrEnum):
    """The commercial segments of `customers.profiles.v1` (the Avro enum's symbols)."""

    CONSUMER = "consumer"
    SMALL_BUSINESS = "small_business"
    ENTERPRISE = "enterprise"


#: Share of each segment at signup.
SEGMENT_WEIGHTS: dict[Segment, float] = {
    Segment.CONSUMER: 0.80,
    Segment.SMALL_BUSINESS: 0.15,
    Segment.ENTERPRISE: 0.05,
}
#: How much more often a customer of the segment buys than a consumer.
SEGMENT_ACTIVITY: dict[Segment, float] = {
    Segment.CONSUMER: 1.0,
    Segment.SMALL_BUSINESS: 2.0,
    Segment.ENTERPRISE: 4.0,
}
COUNTRIES = ("DE", "FR", "NL", "AT", "BE", "IT", "ES", "PL", "SE", "IE")
#: Shape of the Pareto distribution of purchase intensity: a few customers buy most.
ACTIVITY_SHAPE = 1.8
#: Caps the tail so that no single customer dominates a small population.
MAX_ACTIVITY = 40.0


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    email: str
    country: str
    segment: Segment  # at signup; the customers generator moves customers later
    signup_time_ms: int
    activity: float  # relative purchase intensity, Pareto-distributed, at least 1


def population(seed: int, customers: int, start_ms: int = DEFAULT_START_MS) -> list[Customer]:
    """`customers` customers, the same for the same `seed`; all signed up in the year before
    `start_ms`."""
    if customers < 1:
        raise ValueError("there must be at least one customer")
    rng = random.Random(f"population:{seed}")  # noqa: S311 - a seeded simulation
    segments = list(SEGMENT_WEIGHTS)
    weights = list(SEGMENT_WEIGHTS.values())
    result: list[Customer] = []
    for index in range(customers):
        customer_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        segment = rng.choices(segments, weights)[0]
        result.append(
            Customer(
                customer_id=customer_id,
                email=f"customer{index}.{customer_id[:8]}@example.com",
                country=rng.choice(COUNTRIES),
                segment=segment,
                signup_time_ms=start_ms - rng.randrange(1, 365 * DAY_MS),
                activity=min(MAX_ACTIVITY, rng.paretovariate(ACTIVITY_SHAPE))
                * SEGMENT_ACTIVITY[segment],
            )
        )
    return result
