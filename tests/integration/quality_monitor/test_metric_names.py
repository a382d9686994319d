"""Dashboards and SLO rules query only names that a running monitor's /metrics really has."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.quality_monitor.app import create_app
from services.quality_monitor.settings import MonitorSettings
from streammesh.deadletter import Reason
from streammesh.testing.servers import serve_in_thread
from tests.integration.quality_monitor.conftest import (
    NOW,
    Mesh,
    Sample,
    encode,
    order,
    publish,
    read_dead_letters,
    wait_until,
)
from tests.unit.quality_monitor.dashboards import DASHBOARDS, metric_names, queries

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def test_every_queried_name_is_exported(mesh: Mesh, group_id: str) -> None:
    orders = mesh.product("sales/products/orders.yaml")
    settings = MonitorSettings.model_validate(
        {
            "bootstrap_servers": mesh.bootstrap_servers,
            "registry_url": mesh.url,
            "group_id": group_id,
            "catalog_interval_seconds": 0.5,
            "poll_timeout_seconds": 0.2,
        }
    )
    late = NOW - timedelta(minutes=10)  # beyond the 60 s freshness bound, within sanity limits
    corpus = [
        Sample(orders.topic, b"good", encode(orders, order(1)), None),
        Sample(orders.topic, b"late", encode(orders, order(2, event_time=late)), None),
        Sample(
            orders.topic,
            b"bad",
            encode(orders, order(3, amount=Decimal("-1.00"))),
            Reason.RULE_VIOLATION,
            ("amount_non_negative",),
        ),
    ]
    with serve_in_thread(create_app(settings)) as url:
        wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, what="ready")
        publish(mesh.bootstrap_servers, corpus)
        read_dead_letters(mesh.bootstrap_servers, [f"{orders.topic}.dlq"], 1)
        wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, what="caught up")
        text = httpx.get(f"{url}/metrics").text
    exported = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    dashboard_names = {n for d in DASHBOARDS for q in queries(d) for n in metric_names(q)}
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules/slo.yml").read_text())
    rule_names = {n for g in rules["groups"] for r in g["rules"] for n in metric_names(r["expr"])}
    raw = {n for n in dashboard_names | rule_names if n.startswith("streammesh_")}
    assert raw - exported == set()
    assert len(raw) >= 10
