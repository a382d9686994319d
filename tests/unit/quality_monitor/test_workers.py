"""Workers are served as one monitor: counts summed, freshness the least (aged to now), lag
summed, availability only if every worker found the product available, ready only if all are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from services.quality_monitor import metrics as names
from services.quality_monitor.checks import Failure, Outcome
from services.quality_monitor.metrics import MonitorMetrics, ProductGauges, Snapshot
from services.quality_monitor.monitor import ProductStatus
from services.quality_monitor.workers import (
    Report,
    merge_families,
    merge_statuses,
    retired,
    retired_together,
)
from streammesh.deadletter import Reason
from streammesh.testing.metrics import samples

REF = "sales.orders.v1"
PRODUCT = (("product", REF),)


def report(
    worker: int,
    at: float,
    checked: int,
    freshness: float,
    lag: int,
    available: bool,
    ready: bool,
) -> Report:
    registry = CollectorRegistry()
    gauges = ProductGauges(freshness_seconds=freshness, lag_records=lag, available=available)
    metrics = MonitorMetrics(registry, lambda: Snapshot({REF: gauges}, ready))
    recorder = metrics.recorder(REF)
    for _ in range(checked):
        recorder.record(Outcome(None, 1), 0.0001, late=False)
    recorder.record(Outcome(Failure(Reason.RULE_VIOLATION, "m", "a", ("a",)), 1), 0.01, False)
    recorder.dead_letters(1)
    status = ProductStatus(
        ref=REF,
        topic="sales.orders.v1",
        subject="sales.orders.v1-value",
        dlq_topic="sales.orders.v1.dlq",
        value_version=1,
        subscribed=True,
        available=available,
        checked=checked + 1,
        failed=1,
        freshness_seconds=freshness,
        lag_records=lag,
    )
    return Report(worker, at, True, ready, list(registry.collect()), [status])


def exposed(
    reports: list[Report], now: float, ready: bool
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()

    class Merged(Collector):
        def collect(self) -> Iterable[Metric]:
            return merge_families(reports, now, ready)

    registry.register(Merged())
    return samples(registry)


def test_metrics_of_the_workers_are_merged_into_one_monitors() -> None:
    reports = [
        report(0, at=100.0, checked=3, freshness=5.0, lag=2, available=True, ready=True),
        report(1, at=101.0, checked=4, freshness=1.0, lag=3, available=False, ready=True),
    ]
    found = exposed(reports, now=102.0, ready=False)
    version = (("product", REF), ("version", "1"))
    assert found[(names.CHECKED, version)] == 9
    assert (
        found[(names.FAILED, (("product", REF), ("reason", "rule_violation"), ("version", "1")))]
        == 2
    )
    assert found[(names.VIOLATIONS, (("product", REF), ("rule", "a"), ("version", "1")))] == 2
    assert found[(names.DEAD_LETTERS, PRODUCT)] == 2
    assert found[(names.CHECK_DURATION + "_count", PRODUCT)] == 9
    assert found[(names.CHECK_DURATION + "_bucket", (("le", "+Inf"), *PRODUCT))] == 9
    assert found[(names.FRESHNESS, PRODUCT)] == 2.0  # worker 1's 1 s, reported 1 s ago
    assert found[(names.LAG, PRODUCT)] == 5
    assert found[(names.AVAILABLE, PRODUCT)] == 0
    assert found[(names.WATCHED, ())] == 1
    assert found[(names.READY, ())] == 0  # the pool's readiness, not a worker's


def test_statuses_of_the_workers_are_merged_per_product() -> None:
    reports = [
        report(0, at=100.0, checked=3, freshness=5.0, lag=2, available=True, ready=True),
        report(1, at=101.0, checked=4, freshness=1.0, lag=3, available=True, ready=True),
    ]
    (status,) = merge_statuses(reports, now=102.0)
    assert (status.checked, status.failed, status.lag_records) == (9, 2, 5)
    assert status.freshness_seconds == 2.0
    assert status.available is True


def test_a_dead_workers_counts_stay_and_its_gauges_go() -> None:
    """A worker started again reports from zero; what the dead one counted is kept, so merged
    counters only grow, while its freshness, lag and availability no longer count."""
    dead = report(0, at=100.0, checked=5, freshness=0.5, lag=7, available=False, ready=True)
    fresh = report(0, at=200.0, checked=2, freshness=3.0, lag=1, available=True, ready=True)
    found = exposed([retired(dead), fresh], now=200.0, ready=True)
    version = (("product", REF), ("version", "1"))
    assert found[(names.CHECKED, version)] == 9  # 6 + 3, each with its failure
    assert found[(names.DEAD_LETTERS, PRODUCT)] == 2
    assert found[(names.CHECK_DURATION + "_count", PRODUCT)] == 9
    assert found[(names.FRESHNESS, PRODUCT)] == 3.0
    assert found[(names.LAG, PRODUCT)] == 1
    assert found[(names.AVAILABLE, PRODUCT)] == 1
    (status,) = merge_statuses([retired(dead), fresh], now=200.0)
    assert (status.checked, status.failed) == (9, 2)
    assert (status.freshness_seconds, status.lag_records, status.available) == (3.0, 1, True)
    assert status.subscribed


def test_what_every_dead_worker_counted_is_kept_as_one_report() -> None:
    first = report(0, at=100.0, checked=5, freshness=0.5, lag=7, available=False, ready=True)
    second = report(0, at=150.0, checked=2, freshness=0.5, lag=7, available=False, ready=True)
    together = retired_together([retired(first), retired(second)])
    live = report(0, at=200.0, checked=1, freshness=3.0, lag=1, available=True, ready=True)
    newer = replace(live.statuses[0], value_version=4)
    live = replace(live, statuses=[newer])
    found = exposed([live, together], now=200.0, ready=True)
    assert found[(names.CHECKED, (("product", REF), ("version", "1")))] == 11  # 6 + 3 + 2
    (status,) = merge_statuses([live, together], now=200.0)
    assert (status.checked, status.value_version) == (11, 4)  # the live worker's version
