"""The CLTV processor's metrics: computed at scrape time from its counts, positions and latency
histogram, on the registry it is given, with names prefixed `streammesh_` that promtool
accepts."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from domains.marketing.cltv.metrics import LatencyHistogram, register
from streammesh.testing.metrics import samples


def test_scrape_reports_counts_lag_partitions_and_latency() -> None:
    registry = CollectorRegistry()
    counts: Counter[str] = Counter(
        {
            "orders.applied": 7,
            "orders.duplicate": 2,
            "profiles.applied": 3,
            "partials.applied": 4,
            "outputs.customer_lifetime_value": 2,
        }
    )
    latency = LatencyHistogram()
    for seconds in (0.003, 0.02, 0.02, 3.0):
        latency.observe(seconds)
    positions = {("orders", 0): (10, 15), ("orders", 1): (4, 4), ("profiles", 0): (2, None)}
    register(registry, counts, latency, lambda: positions)
    counts["orders.applied"] += 1  # read when scraped, not when registered

    found = samples(registry)
    records = "streammesh_cltv_records_total"
    assert found[records, (("input", "orders"), ("result", "applied"))] == 8
    assert found[records, (("input", "orders"), ("result", "duplicate"))] == 2
    assert found[records, (("input", "profiles"), ("result", "applied"))] == 3
    assert found["streammesh_cltv_partials_total", (("result", "applied"),)] == 4
    unwritable = "streammesh_cltv_unwritable_records_total"
    assert found[unwritable, (("product", "customer_lifetime_value"),)] == 2
    assert found[unwritable, (("product", "cltv_by_segment"),)] == 0
    assert found["streammesh_cltv_input_lag_records", (("topic", "orders"),)] == 5
    assert found["streammesh_cltv_input_lag_records", (("topic", "profiles"),)] == 0
    assert found["streammesh_cltv_partitions_owned", ()] == 2
    histogram = "streammesh_cltv_order_latency_seconds"
    assert found[f"{histogram}_bucket", (("le", "0.005"),)] == 1
    assert found[f"{histogram}_bucket", (("le", "0.025"),)] == 3
    assert found[f"{histogram}_bucket", (("le", "+Inf"),)] == 4
    assert found[f"{histogram}_count", ()] == 4
    assert found[f"{histogram}_sum", ()] == pytest.approx(3.043)
    assert all(name.startswith("streammesh_") for name, _labels in found)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Prometheus)")
def test_promtool_accepts_the_exposition() -> None:
    registry = CollectorRegistry()
    register(registry, Counter({"orders.applied": 1}), LatencyHistogram(), dict)
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=generate_latest(registry),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
