"""Metrics count what happened to records, on the injected registry only, with our naming."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.quality_monitor import metrics as names
from services.quality_monitor.checks import Failure, Outcome
from services.quality_monitor.metrics import MonitorMetrics, ProductGauges, Snapshot
from streammesh.deadletter import Reason
from streammesh.testing.metrics import samples


def test_outcomes_are_counted_by_product_version_reason_and_rule() -> None:
    registry = CollectorRegistry()
    recorder = MonitorMetrics(registry).recorder("sales.orders.v1")
    recorder.record(Outcome(None, 2), 0.0001, late=False)
    recorder.record(Outcome(None, 2), 0.0001, late=True)
    two_rules = Failure(Reason.RULE_VIOLATION, "m", "a", ("a", "b"))
    recorder.record(Outcome(two_rules, 2), 0.0002, late=False)
    recorder.record(Outcome(Failure(Reason.BAD_MAGIC_BYTE, "m")), 0.00001, late=False)
    recorder.dead_letters(2)
    found = samples(registry)
    product = ("product", "sales.orders.v1")
    assert found[(names.CHECKED, (product, ("version", "2")))] == 3
    assert found[(names.CHECKED, (product, ("version", "unknown")))] == 1
    assert found[(names.FAILED, (product, ("reason", "rule_violation"), ("version", "2")))] == 1
    assert (
        found[(names.FAILED, (product, ("reason", "bad_magic_byte"), ("version", "unknown")))] == 1
    )
    assert found[(names.VIOLATIONS, (product, ("rule", "a"), ("version", "2")))] == 1
    assert found[(names.VIOLATIONS, (product, ("rule", "b"), ("version", "2")))] == 1
    assert found[(names.LATE, (product, ("version", "2")))] == 1
    assert found[(names.DEAD_LETTERS, (product,))] == 2
    assert found[(names.CHECK_DURATION + "_count", (product,))] == 4


def test_gauges_are_computed_from_the_snapshot_at_scrape_time() -> None:
    registry = CollectorRegistry()
    state = {"ready": False}

    def snapshot() -> Snapshot:
        gauges = ProductGauges(freshness_seconds=1.5, lag_records=7, available=True)
        return Snapshot({"a.b.v1": gauges, "a.c.v1": ProductGauges()}, state["ready"])

    MonitorMetrics(registry, snapshot)
    found = samples(registry)
    product = (("product", "a.b.v1"),)
    assert found[(names.FRESHNESS, product)] == 1.5
    assert found[(names.LAG, product)] == 7
    assert found[(names.AVAILABLE, product)] == 1
    assert (names.FRESHNESS, (("product", "a.c.v1"),)) not in found  # nothing seen yet
    assert found[(names.WATCHED, ())] == 2
    assert found[(names.READY, ())] == 0
    state["ready"] = True
    assert samples(registry)[(names.READY, ())] == 1


def test_every_name_follows_the_conventions_and_the_global_registry_is_untouched() -> None:
    before = {m.name for m in REGISTRY.collect()}
    registry = CollectorRegistry()
    recorder = MonitorMetrics(registry, Snapshot).recorder("p")
    recorder.record(Outcome(Failure(Reason.UNDECODABLE, "m"), 1), 0.001, late=True)
    recorder.probe(ok=False)
    text = generate_latest(registry).decode()
    families = list(text_string_to_metric_families(text))
    assert families
    for family in families:
        assert family.name.startswith("streammesh_")
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
        if family.type == "histogram":
            assert family.name.endswith("_seconds")
        for sample in family.samples:
            assert set(sample.labels) <= {"product", "version", "reason", "rule", "outcome", "le"}
    assert {m.name for m in REGISTRY.collect()} == before


def test_close_unregisters_so_a_registry_can_serve_again() -> None:
    registry = CollectorRegistry()
    first = MonitorMetrics(registry, Snapshot)
    first.close()
    assert list(registry.collect()) == []
    MonitorMetrics(registry, Snapshot).recorder("p").probe(ok=True)
    found = samples(registry)
    assert found[(names.PROBES, (("product", "p"),))] == 1
    assert found[(names.PROBES_FAILED, (("product", "p"),))] == 0


def test_durations_land_in_the_buckets_prometheus_client_puts_them_in() -> None:
    """The batch-at-a-time histogram agrees with prometheus_client's own `Histogram`, bucket
    by bucket, bounds themselves included (`le` is inclusive)."""
    bounds = names._DURATION_BUCKETS
    durations = [*bounds, *(b * 0.999 for b in bounds), *(b * 1.001 for b in bounds), 0.0, 100.0]
    ours = CollectorRegistry()
    observe = names.DurationHistogram(ours).labels("p")
    observe(durations[:7])
    observe(durations[7:])
    theirs = CollectorRegistry()
    reference = Histogram("reference", "", buckets=bounds, registry=theirs)
    for seconds in durations:
        reference.observe(seconds)
    mine = {
        dict(labels)["le"]: value
        for (name, labels), value in samples(ours).items()
        if name == names.CHECK_DURATION + "_bucket"
    }
    expected = {
        dict(labels)["le"]: value
        for (name, labels), value in samples(theirs).items()
        if name == "reference_bucket"
    }
    assert mine == expected
    assert len(mine) == len(bounds) + 1
