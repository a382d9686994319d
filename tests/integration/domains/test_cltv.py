"""The CLTV processor on real Kafka equals a batch computation of the same model over the same
events, to the cent, for every customer and every segment: with duplicates, refunds,
cancellations and segment moves in the input; after a SIGKILL mid-stream; after a broker
restart mid-stream; and with two workers sharing the partitions, each answering queries for any
key."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from confluent_kafka import Consumer, Message

from domains.marketing.cltv.client import CltvClient
from streammesh.testing.kafka import KafkaUnderTest
from streammesh.testing.metrics import samples
from tests.integration.domains.conftest import (
    History,
    Mesh,
    WorkerFactory,
    expected,
    make_history,
    wait_for_outputs,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def history() -> History:
    return make_history(seed=11, customers=300, orders=6000, changes=200)


def test_outputs_equal_the_batch_computation(mesh: Mesh, worker_factory: WorkerFactory) -> None:
    events = history()
    mesh.publish(events)
    worker = worker_factory()
    want = expected(events, mesh.model)
    got = wait_for_outputs(mesh, want)
    assert got.customers == want.customers
    assert got.segments == want.segments
    counts = worker.stats()["counts"]
    assert counts["orders.duplicate"] > 0
    assert counts["orders.invalid"] > 0
    metrics = samples(httpx.get(f"{worker.url}/metrics").text)
    applied = ("streammesh_cltv_records_total", (("input", "orders"), ("result", "applied")))
    assert metrics[applied] == counts["orders.applied"]
    assert metrics["streammesh_cltv_input_lag_records", (("topic", mesh.orders_topic),)] == 0
    assert metrics["streammesh_cltv_order_latency_seconds_count", ()] > 0
    with CltvClient(worker.url) as client:
        for customer_id, view in list(want.customers.items())[:20]:
            answer = client.get_cltv(customer_id)
            assert answer is not None
            assert answer.lifetime_value == view[1]
        for segment, (count, total, average) in want.segments.items():
            aggregate = client.get_cltv_by_segment(segment)
            assert aggregate is not None
            assert (aggregate.customer_count, aggregate.total_lifetime_value) == (count, total)
            assert aggregate.average_lifetime_value == average
        assert client.get_cltv("no-such-customer") is None


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def test_exact_after_sigkill_mid_stream(mesh: Mesh, worker_factory: WorkerFactory) -> None:
    events = history()
    total = len(events.events)
    mesh.publish(events, 0, total * 6 // 10)
    worker = worker_factory()
    wait_until(lambda: worker.applied() >= total // 4, 60, "no progress before the kill")
    worker.kill()
    mesh.publish(events, total * 6 // 10)  # the rest arrives while the processor is down
    worker_factory()
    want = expected(events, mesh.model)
    got = wait_for_outputs(mesh, want)
    assert got.customers == want.customers
    assert got.segments == want.segments


def test_exact_after_broker_restart_mid_stream(
    kafka: KafkaUnderTest, mesh: Mesh, worker_factory: WorkerFactory
) -> None:
    if kafka.broker is None:
        pytest.skip(f"restarting needs the project's own broker, not an {kafka.kind} Kafka")
    events = history()
    total = len(events.events)
    mesh.publish(events, 0, total // 2)
    worker = worker_factory()
    wait_until(lambda: worker.applied() >= total // 5, 60, "no progress before the restart")
    assert kafka.broker.stop()
    kafka.broker.start()
    mesh.publish(events, total // 2)
    want = expected(events, mesh.model)
    got = wait_for_outputs(mesh, want, timeout=180)
    assert got.customers == want.customers
    assert got.segments == want.segments
    assert worker.process.poll() is None  # the worker rode through the restart


def test_two_workers_split_partitions_and_answer_for_any_key(
    mesh: Mesh, worker_factory: WorkerFactory
) -> None:
    first = worker_factory()
    second = worker_factory()

    def split() -> bool:
        a, b = set(first.stats()["partitions"]), set(second.stats()["partitions"])
        return bool(a) and bool(b) and not a & b and a | b == set(range(6))

    wait_until(split, 60, "the workers did not split the partitions")
    events = history()
    mesh.publish(events)
    want = expected(events, mesh.model)
    got = wait_for_outputs(mesh, want)
    assert got.customers == want.customers
    assert got.segments == want.segments
    assert split()  # no worker left or took everything while processing
    for worker in (first, second):
        with CltvClient(worker.url) as client:
            for customer_id, view in want.customers.items():
                answer = client.get_cltv(customer_id)
                assert answer is not None, customer_id
                assert (answer.segment, answer.lifetime_value, answer.order_count) == (
                    view[0],
                    view[1],
                    view[3],
                )
            for segment, (count, total, average) in want.segments.items():
                aggregate = client.get_cltv_by_segment(segment)
                assert aggregate is not None
                assert (aggregate.customer_count, aggregate.total_lifetime_value) == (count, total)
                assert aggregate.average_lifetime_value == average


def test_a_value_the_product_cannot_carry_is_dead_lettered_and_the_worker_goes_on(
    mesh: Mesh, worker_factory: WorkerFactory
) -> None:
    """A customer whose lifetime value outgrows the product's decimal (14 digits) cannot be
    written: the record goes to the product's dead-letter topic as JSON, with the reason, and
    the worker keeps processing (restarted, it would meet the same record again)."""
    now = datetime.now(UTC)
    profile = {
        "customer_id": "whale",
        "email": "whale@example.com",
        "segment": "enterprise",
        "country": "DE",
        "signup_time": now,
        "updated_at": now,
    }
    mesh.publishers["profiles"].publish("whale", profile)
    for n in range(120):  # orders of almost ten billion: the value soon passes 10**12
        mesh.publishers["orders"].publish(
            "whale", _order(f"whale-{n}", "whale", "9999999999.99", now)
        )
    mesh.publishers["orders"].publish("minnow", _order("minnow-1", "minnow", "12.50", now))
    for publisher in mesh.publishers.values():
        publisher.flush()
    worker = worker_factory()
    wait_until(
        lambda: worker.stats()["counts"].get("orders.applied", 0) == 121, 60, "every order applied"
    )
    assert worker.process.poll() is None
    counts = worker.stats()["counts"]
    assert counts["outputs.customer_lifetime_value"] > 0
    letters = _read_all(mesh, f"{mesh.cltv_topic}.dlq", counts["outputs.customer_lifetime_value"])
    headers = dict(letters[0].headers() or [])
    assert headers["__streammesh.reason"] == b"undecodable"
    assert headers["__streammesh.format"] == b"json"
    assert "precision" in str(headers["__rule.exception"])
    value = json.loads(letters[0].value() or b"")
    assert value["customer_id"] == "whale"
    assert Decimal(value["lifetime_value"]) >= 10**12  # 13 digits before the point: past 14
    with CltvClient(worker.url) as client:
        minnow = client.get_cltv("minnow")
        assert minnow is not None
        assert minnow.net_revenue == Decimal("12.50")  # later records still flow


def _order(order_id: str, customer_id: str, amount: str, at: datetime) -> dict[str, object]:
    price = Decimal(amount)
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "amount": price,
        "currency": "EUR",
        "line_items": [{"sku": "SKU-1", "quantity": 1, "unit_price": price}],
        "status": "placed",
        "event_time": at,
    }


def _read_all(mesh: Mesh, topic: str, count: int) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": mesh.bootstrap_servers,
            "group.id": f"read-{topic}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    found: list[Message] = []
    deadline = time.monotonic() + 30
    try:
        while len(found) < count and time.monotonic() < deadline:
            found += [m for m in consumer.consume(100, 0.5) if m.error() is None]
    finally:
        consumer.close()
    assert len(found) >= count
    return found
