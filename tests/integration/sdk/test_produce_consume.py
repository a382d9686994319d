"""Records the SDK publishes are checked against the product's contract first and decode with
confluent's AvroDeserializer and kcat; records confluent's AvroSerializer writes decode with the
SDK consumer."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_reader

from streammesh.products.loader import load_descriptor
from streammesh.sdk import (
    ContractViolation,
    DeliveryReport,
    Mesh,
    Outcome,
    Published,
    dlq_topic,
)
from tests.integration.sdk.workspace import Workspace, order, read_messages

pytestmark = pytest.mark.integration


def _orders(mesh: Mesh, workspace: Workspace) -> str:
    descriptor = load_descriptor(workspace.descriptor("sales/products/orders.yaml"))
    mesh.apply_topics(descriptor)
    return descriptor.topic.name


def test_published_records_decode_with_confluent_and_kcat(
    mesh: Mesh, registered: Workspace, registry_url: str, bootstrap_servers: str, group_id: str
) -> None:
    topic = _orders(mesh, registered)
    reports: list[DeliveryReport] = []
    with mesh.producer(registered.ref("sales.orders"), on_delivery=reports.append) as producer:
        for i in range(3):
            sent = producer.publish(order(order_id=f"o-{i}"), key="c-1", headers={"h": "v"})
            assert sent == Published(Outcome.SENT)
    assert len(reports) == 3
    assert all(r.ok for r in reports)
    assert {r.partition for r in reports} == {reports[0].partition}  # one key, one partition

    messages = read_messages(bootstrap_servers, topic, group_id, 3)
    with SchemaRegistryClient({"url": registry_url}) as client:
        values = AvroDeserializer(client)
        keys = AvroDeserializer(client)
        decoded = [
            values(m.value(), SerializationContext(topic, MessageField.VALUE)) for m in messages
        ]
        key = keys(messages[0].key(), SerializationContext(topic, MessageField.KEY))
    assert [d["order_id"] for d in decoded] == ["o-0", "o-1", "o-2"]
    assert decoded[0]["amount"] == Decimal("12.50")
    assert key == "c-1"
    assert messages[0].headers() == [("h", b"v")]

    payloads = kcat_values(bootstrap_servers, topic, registry_url)
    assert sorted(p["order_id"] for p in payloads) == ["o-0", "o-1", "o-2"]
    assert payloads[0]["currency"] == "EUR"


def kcat_values(bootstrap: str, topic: str, registry_url: str) -> list[dict[str, Any]]:
    """The topic's values as kcat reads them: decoded by kcat itself when it is built with
    Avro support; otherwise (Debian's build lacks it) kcat's raw bytes, whose Confluent header
    names the schema that fastavro then decodes them with, independently of our serde."""
    kcat = shutil.which("kcat")
    if kcat is None:
        pytest.fail("kcat is not installed (make test installs it)")
    base = [kcat, "-C", "-b", bootstrap, "-t", topic, "-e", "-q"]
    avro = subprocess.run(
        [*base, "-s", "value=avro", "-r", registry_url, "-J"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if avro.returncode == 0:
        return [json.loads(line)["payload"] for line in avro.stdout.splitlines() if line]
    assert "lacks Avro" in avro.stderr, avro.stderr
    raw = subprocess.run(
        [*base, "-f", "%S:%s"], capture_output=True, timeout=60, check=True
    ).stdout  # each value as <length>:<bytes>
    values: list[dict[str, Any]] = []
    with httpx.Client(base_url=registry_url, timeout=30) as http:
        while raw:
            size, _, raw = raw.partition(b":")
            payload, raw = raw[: int(size)], raw[int(size) :]
            magic, schema_id = struct.unpack(">bI", payload[:5])
            assert magic == 0
            schema = json.loads(http.get(f"/schemas/ids/{schema_id}").json()["schema"])
            body = io.BytesIO(payload[5:])
            values.append(cast(dict[str, Any], schemaless_reader(body, parse_schema(schema))))
    return values


def test_confluent_serialized_records_decode_with_the_sdk_consumer(
    mesh: Mesh, registered: Workspace, registry_url: str, bootstrap_servers: str
) -> None:
    topic = _orders(mesh, registered)
    with SchemaRegistryClient({"url": registry_url}) as client:
        serialize = AvroSerializer(
            client, conf={"auto.register.schemas": False, "use.latest.version": True}
        )
        keys = AvroSerializer(
            client, conf={"auto.register.schemas": False, "use.latest.version": True}
        )
        producer = Producer({"bootstrap.servers": bootstrap_servers})
        for i in range(2):
            producer.produce(
                topic,
                value=serialize(
                    order(order_id=f"c{i}"), SerializationContext(topic, MessageField.VALUE)
                ),
                key=keys("c-9", SerializationContext(topic, MessageField.KEY)),
            )
        assert producer.flush(30) == 0
    with mesh.consumer(registered.ref("sales.orders.v1"), from_beginning=True) as consumer:
        records = list(consumer.records(max_records=2, until_end=True))
    assert [r.value["order_id"] for r in records] == ["c0", "c1"]
    assert records[0].value["amount"] == Decimal("12.50")
    assert records[0].key == "c-9"
    assert records[0].timestamp is not None


def test_refused_records_raise_or_go_to_the_dead_letter_topic(
    mesh: Mesh, registered: Workspace, bootstrap_servers: str, group_id: str
) -> None:
    topic = _orders(mesh, registered)
    product = registered.ref("sales.orders")
    with mesh.producer(product) as producer:
        with pytest.raises(ContractViolation) as refused:
            producer.publish(order(amount=Decimal("-1.00"), currency="eur"))
        assert set(refused.value.rules) == {"amount_non_negative", "currency_iso_4217"}
        with pytest.raises(ContractViolation, match="amount"):
            producer.publish(order(amount="twelve"))
        with pytest.raises(ContractViolation) as nested:
            producer.publish(
                order(line_items=[{"sku": "s", "quantity": 0, "unit_price": Decimal("1.00")}])
            )
        assert nested.value.rules == ("line_item_quantity_positive",)
        assert producer.sent == 0

    with mesh.producer(product, on_invalid="dlq") as producer:
        lettered = producer.publish(order(currency="eur"), key="c-1")
        assert lettered.outcome is Outcome.DEAD_LETTERED
        assert lettered.refusal is not None
        assert lettered.refusal.rules == ("currency_iso_4217",)
        assert producer.publish(order(status="lost")).outcome is Outcome.DEAD_LETTERED
        assert producer.publish(order()) == Published(Outcome.SENT)
    # The two letters may sit in different partitions: put them in the order they were sent.
    letters = sorted(
        read_messages(bootstrap_servers, dlq_topic(topic), group_id, 2),
        key=lambda m: dict(m.headers() or [])["__streammesh.format"] != b"avro",
    )
    headers = [dict(m.headers() or []) for m in letters]
    assert headers[0]["__streammesh.rules"] == b"currency_iso_4217"
    assert headers[0]["__streammesh.reason"] == b"rule_violation"
    assert headers[0]["__rule.name"] == b"currency_iso_4217"
    assert headers[0]["__streammesh.format"] == b"avro"
    assert headers[1]["__streammesh.format"] == b"json"
    exception, value = headers[1]["__rule.exception"], letters[1].value()
    assert isinstance(exception, bytes)
    assert b"status" in exception
    assert value is not None
    assert json.loads(value)["status"] == "lost"
