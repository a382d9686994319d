"""A small client of the CLTV query API; any worker answers for any key.

>>> client = CltvClient("http://127.0.0.1:6066")
>>> client.get_cltv("2f1e...")           # CustomerLifetimeValue or None
>>> client.get_cltv_by_segment("consumer")  # SegmentLifetimeValue or None
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx


class CltvQueryError(RuntimeError):
    """The query API answered with an error other than "not found"."""


@dataclass(frozen=True, slots=True)
class CustomerLifetimeValue:
    customer_id: str
    segment: str | None
    lifetime_value: Decimal
    net_revenue: Decimal
    currency: str
    order_count: int
    first_order_time: int
    last_order_time: int
    model_version: str


@dataclass(frozen=True, slots=True)
class SegmentLifetimeValue:
    segment: str
    customer_count: int
    total_lifetime_value: Decimal
    average_lifetime_value: Decimal
    currency: str
    updated_at: int


class CltvClient:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def get_cltv(self, customer_id: str) -> CustomerLifetimeValue | None:
        body = self._get(f"/cltv/customers/{quote(customer_id, safe='')}")
        if body is None:
            return None
        return CustomerLifetimeValue(
            customer_id=str(body["customer_id"]),
            segment=None if body["segment"] is None else str(body["segment"]),
            lifetime_value=Decimal(body["lifetime_value"]),
            net_revenue=Decimal(body["net_revenue"]),
            currency=str(body["currency"]),
            order_count=int(body["order_count"]),
            first_order_time=int(body["first_order_time"]),
            last_order_time=int(body["last_order_time"]),
            model_version=str(body["model_version"]),
        )

    def get_cltv_by_segment(self, segment: str) -> SegmentLifetimeValue | None:
        body = self._get(f"/cltv/segments/{quote(segment, safe='')}")
        if body is None:
            return None
        return SegmentLifetimeValue(
            segment=str(body["segment"]),
            customer_count=int(body["customer_count"]),
            total_lifetime_value=Decimal(body["total_lifetime_value"]),
            average_lifetime_value=Decimal(body["average_lifetime_value"]),
            currency=str(body["currency"]),
            updated_at=int(body["updated_at"]),
        )

    def _get(self, path: str) -> dict[str, Any] | None:
        response = self._http.get(path)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if response.is_error:
            raise CltvQueryError(f"GET {path}: {response.status_code} {response.text[:200]}")
        body = response.json()
        if not isinstance(body, dict):
            raise CltvQueryError(f"GET {path}: not a JSON object")
        return body

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def get_cltv(base_url: str, customer_id: str) -> CustomerLifetimeValue | None:
    """One customer's lifetime value, from any worker at `base_url`."""
    with CltvClient(base_url) as client:
        return client.get_cltv(customer_id)


def get_cltv_by_segment(base_url: str, segment: str) -> SegmentLifetimeValue | None:
    """One segment's aggregate, from any worker at `base_url`."""
    with CltvClient(base_url) as client:
        return client.get_cltv_by_segment(segment)
