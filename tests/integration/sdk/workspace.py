"""Copies of the shipped products under fresh domain names, so tests never share a topic.

`sales.orders.v1` becomes `t<8 hex>_sales.orders.v1`, with its schema files and input ports
renamed alike, in a checkout-shaped folder (`domains/`, `schemas/avro/`) under `tmp_path`.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient

from streammesh.products.loader import load_descriptor
from streammesh.testing.servers import serve_in_thread
from tests.conftest import ensure_registry_topic

ROOT = Path(__file__).resolve().parents[3]
DOMAINS = ("sales", "customers", "marketing")
#: Each shipped descriptor, upstream first.
CHAIN = (
    "sales/products/orders.yaml",
    "customers/products/profiles.yaml",
    "marketing/products/customer_lifetime_value.yaml",
    "marketing/products/cltv_by_segment.yaml",
)


@dataclass(frozen=True)
class Workspace:
    root: Path
    prefix: str

    def domain(self, shipped: str) -> str:
        return f"{self.prefix}_{shipped}"

    def descriptor(self, relative: str) -> Path:
        """The copy of `domains/<relative>`, e.g. `sales/products/orders.yaml`."""
        shipped, _, rest = relative.partition("/")
        return self.root / "domains" / self.domain(shipped) / rest

    def ref(self, shipped_ref: str) -> str:
        return f"{self.prefix}_{shipped_ref}"

    def put(self, http: httpx.Client, relative: str) -> httpx.Response:
        """Register the copy in a catalog directly (without the CLI)."""
        descriptor = load_descriptor(self.descriptor(relative))
        body: dict[str, Any] = {
            "descriptor": descriptor.model_dump(mode="json", by_alias=True),
            "valueSchema": (self.root / descriptor.topic.value_schema).read_text(),
        }
        if descriptor.topic.key_schema:
            body["keySchema"] = (self.root / descriptor.topic.key_schema).read_text()
        return http.put(f"/products/{descriptor.domain}/{descriptor.name}", json=body)


def copy_products(target: Path, prefix: str | None = None) -> Workspace:
    prefix = prefix or f"t{uuid.uuid4().hex[:8]}"
    names = "|".join(DOMAINS)
    for domain in DOMAINS:
        renamed = f"{prefix}_{domain}"
        for source in sorted((ROOT / "domains" / domain / "products").glob("*.yaml")):
            text = source.read_text()
            text = re.sub(rf"^domain: ({names})$", rf"domain: {prefix}_\1", text, flags=re.M)
            text = re.sub(rf"\b({names})\.(?=[a-z_]+\.v\d)", rf"{prefix}_\1.", text)
            text = re.sub(rf"schemas/avro/({names})/", rf"schemas/avro/{prefix}_\1/", text)
            out = target / "domains" / renamed / "products" / source.name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
        schemas = target / "schemas" / "avro" / renamed
        schemas.mkdir(parents=True, exist_ok=True)
        for schema in sorted((ROOT / "schemas" / "avro" / domain).glob("*.avsc")):
            (schemas / schema.name).write_text(schema.read_text())
    return Workspace(target, prefix)


@contextlib.contextmanager
def running_registry(bootstrap_servers: str, admin: AdminClient, **overrides: Any) -> Iterator[str]:
    """A registry on a log topic of its own, for a whole module; the topic is deleted after."""
    from services.registry.app import create_app  # noqa: PLC0415 - only tests that serve
    from services.registry.settings import RegistrySettings  # noqa: PLC0415

    topic = f"_streammesh.schemas.sdk.{uuid.uuid4().hex[:8]}"
    settings = RegistrySettings.model_validate(
        {
            "bootstrap_servers": bootstrap_servers,
            "topic": topic,
            "auth_enabled": "auth_file" in overrides,
            **overrides,
        }
    )
    ensure_registry_topic(admin, topic)
    try:
        with serve_in_thread(create_app(settings)) as url:
            yield url
    finally:
        admin.delete_topics([topic])[topic].result(timeout=30)


def order(**changes: Any) -> dict[str, Any]:
    """A valid order of the shipped `sales.orders` schema."""
    return {
        "order_id": "o-1",
        "customer_id": "c-1",
        "amount": Decimal("12.50"),
        "currency": "EUR",
        "line_items": [{"sku": "sku-1", "quantity": 1, "unit_price": Decimal("12.50")}],
        "status": "placed",
        "event_time": datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
        **changes,
    }


def read_messages(bootstrap: str, topic: str, group: str, count: int) -> list[Message]:
    """The first `count` records of `topic` (fewer if they do not come within a minute)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    found: list[Message] = []
    try:
        for _ in range(300):
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                found.append(message)
            if len(found) >= count:
                break
    finally:
        consumer.close()
    return found
