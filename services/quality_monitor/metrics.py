"""The monitor's Prometheus metrics, on a `CollectorRegistry` the caller owns.

Labels stay few and bounded: `product` (the product's reference, `<domain>.<product>.v<major>`),
`version` (the writer schema's version of the value subject, `unknown` when the record names no
version of it), `reason` (a `checks.Reason`) and `rule` (a rule name of the contract).

Counters say what happened to records; gauges (freshness, lag, availability, readiness) are
computed when scraped from a `Snapshot` of the monitor, so they are never stale.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from services.quality_monitor.checks import Outcome

UNKNOWN_VERSION: Final = "unknown"
# prometheus_client's spelling of a bucket bound (`le`); the function is untyped.
_le: Callable[[float], str] = floatToGoString

CHECKED: Final = "streammesh_quality_records_checked_total"
FAILED: Final = "streammesh_quality_records_failed_total"
VIOLATIONS: Final = "streammesh_quality_rule_violations_total"
LATE: Final = "streammesh_quality_records_late_total"
DEAD_LETTERS: Final = "streammesh_quality_dead_letters_total"
CHECK_DURATION: Final = "streammesh_quality_check_duration_seconds"
PROBES: Final = "streammesh_availability_probes_total"
PROBES_FAILED: Final = "streammesh_availability_probes_failed_total"
CATALOG_POLLS: Final = "streammesh_monitor_catalog_polls_total"
FRESHNESS: Final = "streammesh_product_freshness_seconds"
LAG: Final = "streammesh_quality_consumer_lag_records"
AVAILABLE: Final = "streammesh_product_available"
WATCHED: Final = "streammesh_monitor_products_watched"
READY: Final = "streammesh_monitor_ready"

# Checking one record takes microseconds to a few milliseconds.
_DURATION_BUCKETS: Final = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.1,
)


@dataclass(frozen=True, slots=True)
class ProductGauges:
    """What the gauges show for one product, as this instance sees it."""

    freshness_seconds: float | None = None  # None: no record seen yet
    lag_records: int | None = None  # None: no partition of it assigned here
    available: bool | None = None  # None: not probed yet


@dataclass(frozen=True, slots=True)
class Snapshot:
    products: Mapping[str, ProductGauges] = field(default_factory=dict)
    ready: bool = False


class _GaugeCollector(Collector):
    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        snap = self._snapshot()
        freshness = GaugeMetricFamily(
            FRESHNESS,
            "Seconds since the event time of the newest record seen (its Kafka timestamp when "
            "the schema has no event-time field).",
            labels=["product"],
        )
        lag = GaugeMetricFamily(
            LAG,
            "Records on the product's partitions assigned here that are not checked yet.",
            labels=["product"],
        )
        available = GaugeMetricFamily(
            AVAILABLE,
            "1 when the product's topic metadata and value subject were readable at the last "
            "probe, else 0.",
            labels=["product"],
        )
        for product, gauges in sorted(snap.products.items()):
            if gauges.freshness_seconds is not None:
                freshness.add_metric([product], gauges.freshness_seconds)
            if gauges.lag_records is not None:
                lag.add_metric([product], gauges.lag_records)
            if gauges.available is not None:
                available.add_metric([product], 1.0 if gauges.available else 0.0)
        yield freshness
        yield lag
        yield available
        yield GaugeMetricFamily(
            WATCHED, "Active products the monitor follows.", value=len(snap.products)
        )
        yield GaugeMetricFamily(
            READY, "1 when caught up with every assigned partition, else 0.", value=snap.ready
        )


class DurationHistogram(Collector):
    """`streammesh_quality_check_duration_seconds`, whose durations come a batch at a time.

    prometheus_client's `Histogram` takes one observation per call, under a lock; the loop
    counts a batch's durations into buckets in plain ints and adds them here once.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._bounds = _DURATION_BUCKETS
        self._lock = threading.Lock()
        self._products: dict[str, tuple[list[int], list[float]]] = {}
        registry.register(self)

    def labels(self, product: str) -> Callable[[Sequence[float]], None]:
        """The function adding durations (seconds) of `product`'s records."""
        with self._lock:
            counts, total = self._products.setdefault(
                product, ([0] * (len(self._bounds) + 1), [0.0])
            )
        bounds, lock = self._bounds, self._lock

        def observe(durations: Sequence[float]) -> None:
            # Sorted once, each bucket's count is a difference of two positions: the durations
            # of a bucket are those <= its bound and > the one before (`bisect_left` of each).
            ordered = sorted(durations)
            at_most = [bisect_right(ordered, bound) for bound in bounds]
            added = [b - a for a, b in zip([0, *at_most], [*at_most, len(ordered)], strict=True)]
            with lock:
                for n, count in enumerate(added):
                    counts[n] += count
                total[0] += sum(durations)

        return observe

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(
            CHECK_DURATION,
            "Time to check one record (decode, rules, event time); the rules of a batch are "
            "evaluated together, their time shared evenly by its records.",
            labels=["product"],
        )
        with self._lock:
            products = {p: (list(c), t[0]) for p, (c, t) in self._products.items()}
        for product, (counts, total) in sorted(products.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append((_le(bound), cumulative))
            family.add_metric([product], buckets, total)
        yield family


class MonitorMetrics:
    """Every metric of the monitor, registered on `registry`."""

    def __init__(
        self, registry: CollectorRegistry, snapshot: Callable[[], Snapshot] | None = None
    ) -> None:
        self.registry = registry
        # prometheus_client appends _total to counter names itself.
        self.checked = Counter(
            CHECKED.removesuffix("_total"),
            "Records checked.",
            ["product", "version"],
            registry=registry,
        )
        self.failed = Counter(
            FAILED.removesuffix("_total"),
            "Records that failed a check, by the first failing check.",
            ["product", "version", "reason"],
            registry=registry,
        )
        self.violations = Counter(
            VIOLATIONS.removesuffix("_total"),
            "Rule violations: a record that breaks two rules counts for each.",
            ["product", "version", "rule"],
            registry=registry,
        )
        self.late = Counter(
            LATE.removesuffix("_total"),
            "Records whose Kafka timestamp is more than the freshness objective after their "
            "event time.",
            ["product", "version"],
            registry=registry,
        )
        self.dead_letters = Counter(
            DEAD_LETTERS.removesuffix("_total"),
            "Dead letters acknowledged by Kafka.",
            ["product"],
            registry=registry,
        )
        self.check_duration = DurationHistogram(registry)
        self.probes = Counter(
            PROBES.removesuffix("_total"),
            "Availability probes of a product (topic metadata and value subject).",
            ["product"],
            registry=registry,
        )
        self.probes_failed = Counter(
            PROBES_FAILED.removesuffix("_total"),
            "Availability probes that could not read the topic or the subject.",
            ["product"],
            registry=registry,
        )
        self.catalog_polls = Counter(
            CATALOG_POLLS.removesuffix("_total"),
            "Reads of the catalog, by outcome (ok, error).",
            ["outcome"],
            registry=registry,
        )
        self._collectors: list[Collector] = [
            self.checked,
            self.failed,
            self.violations,
            self.late,
            self.dead_letters,
            self.check_duration,
            self.probes,
            self.probes_failed,
            self.catalog_polls,
        ]
        if snapshot is not None:
            self.watch(snapshot)

    def watch(self, snapshot: Callable[[], Snapshot]) -> None:
        """Export the gauges computed from `snapshot` at every scrape."""
        collector = _GaugeCollector(snapshot)
        self.registry.register(collector)
        self._collectors.append(collector)

    def close(self) -> None:
        """Unregister every metric, so the registry can serve a new instance."""
        for collector in self._collectors:
            self.registry.unregister(collector)
        self._collectors.clear()

    def recorder(self, product: str) -> ProductRecorder:
        """Counters of one product with their label values bound once."""
        return ProductRecorder(self, product)


class ProductRecorder:
    """The per-record hot path: label children cached per version, reason and rule."""

    __slots__ = ("_checked", "_duration", "_failed", "_late", "_metrics", "_violations", "product")

    def __init__(self, metrics: MonitorMetrics, product: str) -> None:
        self._metrics = metrics
        self.product = product
        self._checked: dict[int, Counter] = {}
        self._late: dict[int, Counter] = {}
        self._failed: dict[tuple[int, str], Counter] = {}
        self._violations: dict[tuple[int, str], Counter] = {}
        self._duration = metrics.check_duration.labels(product)

    def record(self, outcome: Outcome, seconds: float, late: bool) -> None:
        """Count one record; the loop counts a batch at once with the methods below."""
        self.checked(outcome.version, 1)
        self.observe([seconds])
        if late:
            self.late(outcome.version, 1)
        if outcome.failure is not None:
            self.failed(outcome)

    def checked(self, version: int, count: int) -> None:
        checked = self._checked.get(version)
        if checked is None:
            checked = self._checked[version] = self._metrics.checked.labels(
                self.product, _version_label(version)
            )
        checked.inc(count)

    def late(self, version: int, count: int) -> None:
        counter = self._late.get(version)
        if counter is None:
            counter = self._late[version] = self._metrics.late.labels(
                self.product, _version_label(version)
            )
        counter.inc(count)

    def observe(self, durations: Sequence[float]) -> None:
        """The times to check records: every record is observed, none sampled."""
        self._duration(durations)

    def failed(self, outcome: Outcome) -> None:
        """Count a failed record by its reason and each rule it broke."""
        failure = outcome.failure
        if failure is None:
            return
        version = outcome.version
        key = (version, failure.reason.value)
        failed = self._failed.get(key)
        if failed is None:
            failed = self._failed[key] = self._metrics.failed.labels(
                self.product, _version_label(version), failure.reason.value
            )
        failed.inc()
        for rule in failure.rules:
            rule_key = (version, rule)
            violation = self._violations.get(rule_key)
            if violation is None:
                violation = self._violations[rule_key] = self._metrics.violations.labels(
                    self.product, _version_label(version), rule
                )
            violation.inc()

    def dead_letters(self, count: int) -> None:
        self._metrics.dead_letters.labels(self.product).inc(count)

    def probe(self, ok: bool) -> None:
        self._metrics.probes.labels(self.product).inc()
        if not ok:
            self._metrics.probes_failed.labels(self.product).inc()
        else:  # so that the failure series exists at zero and rates over it are defined
            self._metrics.probes_failed.labels(self.product)


def _version_label(version: int) -> str:
    return str(version) if version > 0 else UNKNOWN_VERSION
