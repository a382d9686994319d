"""The CLTV processor on real Kafka equals a batch computation of the same model over the same
events, to the cent, for every customer and every segment: with duplicates, refunds,
cancellations and segment moves in the input; after a SIGKILL mid-stream; after a broker
restart mid-stream; and with two workers sharing the partitions, each answering queries for any
key."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from domains.marketing.cltv.client import CltvClient
from streammesh.testing.kafka import KafkaUnderTest
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
    metrics = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(httpx.get(f"{worker.url}/metrics").text)
        for sample in family.samples
    }
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
