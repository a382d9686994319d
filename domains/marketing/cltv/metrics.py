"""The processor's Prometheus metrics, on a `CollectorRegistry` the caller owns.

Everything is computed when scraped from what the processor keeps anyway (its counts, the
offsets it processed, a latency histogram of plain integers), so processing a record pays no
metric locks. Labels stay few and bounded: `input` (orders, profiles), `result` (a
`logic.Result`, or `unreadable`), `topic` (an input topic).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

RECORDS: Final = "streammesh_cltv_records_total"
PARTIALS: Final = "streammesh_cltv_partials_total"
UNWRITABLE: Final = "streammesh_cltv_unwritable_records_total"
LAG: Final = "streammesh_cltv_input_lag_records"
LATENCY: Final = "streammesh_cltv_order_latency_seconds"
PARTITIONS: Final = "streammesh_cltv_partitions_owned"

_le: Callable[[float], str] = floatToGoString  # prometheus_client's spelling of a bound; untyped

# From an order's produce time to its customer's record queued: milliseconds to seconds.
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LatencyHistogram:
    """Counts per bucket, observed without a lock (the event loop's thread only)."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    def buckets(self) -> list[tuple[str, float]]:
        cumulative, out = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            cumulative += count
            out.append((_le(bound), float(cumulative)))
        return out


#: Per input topic and partition: (offset of the next record to process, the high watermark),
#: of the partitions this worker owns; the high watermark is None while unknown.
Positions = Callable[[], Mapping[tuple[str, int], tuple[int, int | None]]]


class CltvCollector(Collector):
    def __init__(
        self, counts: Counter[str], latency: LatencyHistogram, positions: Positions
    ) -> None:
        self._counts = counts
        self._latency = latency
        self._positions = positions

    def collect(self) -> Iterable[Metric]:
        records = CounterMetricFamily(
            RECORDS, "Input records processed, by input and result.", labels=["input", "result"]
        )
        partials = CounterMetricFamily(
            PARTIALS, "Segment partials received by stage two, by result.", labels=["result"]
        )
        unwritable = CounterMetricFamily(
            UNWRITABLE,
            "Product records that did not fit the product's schema, sent to its dead-letter "
            "topic instead.",
            labels=["product"],
        )
        for product in ("customer_lifetime_value", "cltv_by_segment"):
            unwritable.add_metric([product], self._counts.get(f"outputs.{product}", 0))
        for key, value in sorted(self._counts.items()):
            kind, _, result = key.partition(".")
            if kind in ("orders", "profiles"):
                records.add_metric([kind, result], value)
            elif kind == "partials":
                partials.add_metric([result], value)
        yield records
        yield partials
        yield unwritable
        lag = GaugeMetricFamily(
            LAG, "Records of owned input partitions not processed yet.", labels=["topic"]
        )
        per_topic: Counter[str] = Counter()
        positions = self._positions()
        for (topic, _partition), (position, highwater) in positions.items():
            per_topic[topic] += max(0, highwater - position) if highwater is not None else 0
        for topic, value in sorted(per_topic.items()):
            lag.add_metric([topic], value)
        yield lag
        owned = {partition for _topic, partition in positions}
        yield GaugeMetricFamily(PARTITIONS, "Input partitions this worker owns.", len(owned))
        latency = HistogramMetricFamily(
            LATENCY, "From an order's produce time to its customer's record queued to Kafka."
        )
        latency.add_metric([], self._latency.buckets(), self._latency.sum)
        yield latency


def register(
    registry: CollectorRegistry,
    counts: Counter[str],
    latency: LatencyHistogram,
    positions: Positions,
) -> CltvCollector:
    collector = CltvCollector(counts, latency, positions)
    registry.register(collector)
    return collector
