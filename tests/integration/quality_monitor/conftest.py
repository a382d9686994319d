"""Products on a real registry and Kafka, a corpus of good and bad records, and DLQ readers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from fastavro import parse_schema, schemaless_writer

from streammesh.deadletter import Reason
from streammesh.products.loader import load_descriptor
from streammesh.serde import SchemaId, header
from tests.conftest import RegistryFactory

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Product:
    ref: str
    topic: str
    subject: str
    schema_id: int
    schema: Any  # parsed Avro


def register(
    http: httpx.Client, admin: AdminClient, relative: str, partitions: int, created: list[str]
) -> Product:
    """Register a shipped product under a fresh name (topics are shared by the session)."""
    descriptor = load_descriptor(ROOT / "domains" / relative)
    name = f"{descriptor.name}_{uuid.uuid4().hex[:8]}"
    topic = f"{descriptor.domain}.{name}.v{descriptor.major}"
    dumped = descriptor.model_dump(mode="json", by_alias=True)
    dumped["name"] = name
    dumped["topic"] = {**dumped["topic"], "name": topic, "partitions": partitions}
    dumped["inputPorts"] = []
    value_schema = (ROOT / descriptor.topic.value_schema).read_text()
    body: dict[str, object] = {"descriptor": dumped, "valueSchema": value_schema}
    if descriptor.topic.key_schema:
        body["keySchema"] = (ROOT / descriptor.topic.key_schema).read_text()
    created.append(topic)
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=30)
    response = http.put(f"/products/{descriptor.domain}/{name}", json=body)
    assert response.status_code == 200, response.text
    public = response.json()
    return Product(
        ref=public["ref"],
        topic=topic,
        subject=public["valueSubject"],
        schema_id=public["valueSchemaId"],
        schema=parse_schema(json.loads(value_schema)),
    )


@dataclass
class Mesh:
    url: str
    http: httpx.Client
    admin: AdminClient
    bootstrap_servers: str
    created: list[str] = field(default_factory=list)

    def product(self, relative: str, partitions: int = 1) -> Product:
        return register(self.http, self.admin, relative, partitions, self.created)


@pytest.fixture
def mesh(
    registry_factory: RegistryFactory, admin: AdminClient, bootstrap_servers: str
) -> Iterator[Mesh]:
    url = registry_factory()
    with httpx.Client(base_url=url, timeout=30) as http:
        mesh = Mesh(url, http, admin, bootstrap_servers)
        yield mesh
    topics = [t for t in mesh.created for t in (t, f"{t}.dlq")]
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [t for t in topics if t in existing]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            future.result(timeout=30)


# --- records


NOW = datetime.now(UTC).replace(microsecond=0)


def encode(product: Product, record: dict[str, Any], schema_id: int | None = None) -> bytes:
    out = BytesIO()
    out.write(header(SchemaId(product.schema_id if schema_id is None else schema_id)))
    schemaless_writer(out, product.schema, record)
    return out.getvalue()


def order(n: int, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "order_id": f"order-{n}",
        "customer_id": f"c-{n % 7}",
        "amount": Decimal("20.00"),
        "currency": "EUR",
        "line_items": [{"sku": "sku-1", "quantity": 2, "unit_price": Decimal("10.00")}],
        "status": "placed",
        "event_time": NOW,
    }
    return {**record, **changes}


def profile(n: int, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "customer_id": f"c-{n}",
        "email": f"c{n}@example.com",
        "segment": "consumer",
        "country": "DE",
        "signup_time": NOW - timedelta(days=30),
        "updated_at": NOW,
    }
    return {**record, **changes}


@dataclass(frozen=True)
class Sample:
    """One record of the corpus and the verdict it must get (None: it passes)."""

    topic: str
    key: bytes
    value: bytes
    reason: Reason | None
    rules: tuple[str, ...] = ()
    headers: tuple[tuple[str, bytes], ...] = ()


def orders_corpus(orders: Product, other: Product, good: int, tag: str = "") -> list[Sample]:
    """`good` passing orders with each kind of bad record spread among them."""
    body = encode(orders, order(0))
    bad = [
        Sample(orders.topic, b"", b"\x01" + body[1:], Reason.BAD_MAGIC_BYTE),
        Sample(
            orders.topic, b"", encode(orders, order(0), 2_000_000_000), Reason.UNKNOWN_SCHEMA_ID
        ),
        Sample(orders.topic, b"", encode(orders, order(0), other.schema_id), Reason.WRONG_SUBJECT),
        Sample(
            orders.topic, b"", header(SchemaId(orders.schema_id)) + b"\xff" * 9, Reason.UNDECODABLE
        ),
        Sample(
            orders.topic,
            b"",
            encode(orders, order(0, amount=Decimal("-1.00"))),
            Reason.RULE_VIOLATION,
            ("amount_non_negative",),
        ),
        Sample(
            orders.topic,
            b"",
            encode(orders, order(0, currency="eur")),
            Reason.RULE_VIOLATION,
            ("currency_iso_4217",),
        ),
        Sample(
            orders.topic,
            b"",
            encode(orders, order(0, line_items=[])),
            Reason.RULE_VIOLATION,
            ("has_line_items",),
        ),
        Sample(
            orders.topic,
            b"",
            encode(
                orders,
                order(0, line_items=[{"sku": "s", "quantity": 0, "unit_price": Decimal("1.00")}]),
            ),
            Reason.RULE_VIOLATION,
            ("line_item_quantity_positive",),
        ),
        Sample(
            orders.topic,
            b"",
            encode(orders, order(0, event_time=NOW + timedelta(days=1))),
            Reason.EVENT_TIME_FUTURE,
        ),
    ]
    samples = [
        Sample(orders.topic, f"{tag}good-{n}".encode(), encode(orders, order(n)), None)
        for n in range(good)
    ]
    step = max(1, good // (len(bad) + 1))
    for i, sample in enumerate(bad):
        marked = Sample(
            sample.topic,
            f"{tag}bad-{i}".encode(),
            sample.value,
            sample.reason,
            sample.rules,
            (("trace", f"{tag}t-{i}".encode()),),
        )
        samples.insert(min(len(samples), (i + 1) * step + i), marked)
    return samples


def profiles_corpus(profiles: Product, good: int) -> list[Sample]:
    samples = [
        Sample(profiles.topic, f"p-{n}".encode(), encode(profiles, profile(n)), None)
        for n in range(good)
    ]
    samples.append(
        Sample(
            profiles.topic,
            b"p-bad-email",
            encode(profiles, profile(99, email="")),
            Reason.RULE_VIOLATION,
            ("email_well_formed", "pii_not_blank"),
        )
    )
    samples.append(
        Sample(
            profiles.topic,
            b"p-bad-country",
            encode(profiles, profile(98, country="Germany")),
            Reason.RULE_VIOLATION,
            ("country_iso_3166",),
        )
    )
    return samples


Coordinates = tuple[str, int, int]  # topic, partition, offset


def publish(bootstrap_servers: str, samples: list[Sample]) -> dict[Coordinates, Sample]:
    """Produce every sample, in order; returns where each landed."""
    producer = Producer({"bootstrap.servers": bootstrap_servers, "linger.ms": 5})
    landed: dict[Coordinates, Sample] = {}
    errors: list[KafkaError] = []

    def on_delivery(sample: Sample) -> Callable[[KafkaError | None, Message], None]:
        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                errors.append(error)
                return
            landed[(sample.topic, message.partition() or 0, message.offset() or 0)] = sample

        return delivered

    for sample in samples:
        producer.produce(
            sample.topic,
            key=sample.key or None,
            value=sample.value,
            headers=list(sample.headers),
            on_delivery=on_delivery(sample),
        )
        producer.poll(0)
    assert producer.flush(30) == 0
    assert errors == []
    return landed


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    source: Coordinates

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return values[-1].decode() if values else None


def read_dead_letters(
    bootstrap_servers: str, topics: list[str], expected: int, timeout: float = 90.0
) -> list[DeadLetter]:
    """Every dead letter on `topics` once at least `expected` arrived (then a short grace)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"dlq-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    found: list[DeadLetter] = []
    try:
        deadline = time.monotonic() + timeout
        wait_for_topics(consumer, topics, deadline)
        consumer.assign(
            [
                TopicPartition(t, p, 0)
                for t in topics
                for p in consumer.list_topics(t, timeout=10).topics[t].partitions
            ]
        )
        grace: float | None = None
        while time.monotonic() < deadline:
            if len(found) >= expected:
                grace = grace or time.monotonic() + 2.0  # duplicates would show up now
                if time.monotonic() > grace:
                    break
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            raw = message.headers() or []
            items = list(raw.items()) if isinstance(raw, dict) else raw
            headers = [(k, v if isinstance(v, bytes) else b"") for k, v in items]
            letter = DeadLetter(message.key(), message.value(), headers, ("", 0, 0))
            source = (
                letter.header("__rule.topic") or "",
                int(letter.header("__streammesh.source.partition") or -1),
                int(letter.header("__streammesh.source.offset") or -1),
            )
            found.append(DeadLetter(letter.key, letter.value, headers, source))
    finally:
        consumer.close()
    return found


def wait_for_topics(consumer: Consumer, topics: list[str], deadline: float) -> None:
    while True:
        listed = consumer.list_topics(timeout=10).topics
        if all(t in listed and listed[t].error is None for t in topics):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no topics {topics} in time")
        time.sleep(0.2)


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or condition}")
        time.sleep(0.1)
