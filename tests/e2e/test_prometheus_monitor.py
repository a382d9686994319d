"""A real Prometheus scrapes a running monitor, loads the SLO rules, and serves its series back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from services.quality_monitor.settings import MonitorSettings
from streammesh.broker.launcher import free_port
from streammesh.cli import app
from tests.integration.quality_monitor.conftest import (
    Mesh,
    Sample,
    encode,
    mesh,  # noqa: F401 - the fixture, shared with the integration tests
    order,
    wait_until,
)
from tests.integration.quality_monitor.conftest import publish as publish_samples

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def process(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    with log.open("ab") as sink:
        child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            child.terminate()
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)


def up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def test_prometheus_reads_the_monitors_series(mesh: Mesh, group_id: str, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: apt-get install prometheus")
    orders = mesh.product("sales/products/orders.yaml")
    settings = MonitorSettings(
        bootstrap_servers=mesh.bootstrap_servers,
        registry_url=mesh.url,
        group_id=group_id,
        port=free_port(),
        catalog_interval_seconds=0.5,
    )
    env = {
        **os.environ,
        "STREAMMESH_MONITOR_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "STREAMMESH_MONITOR_REGISTRY_URL": settings.registry_url,
        "STREAMMESH_MONITOR_GROUP_ID": settings.group_id,
        "STREAMMESH_MONITOR_PORT": str(settings.port),
        "STREAMMESH_MONITOR_CATALOG_INTERVAL_SECONDS": "0.5",
    }
    monitor = f"http://127.0.0.1:{settings.port}"
    prometheus_port = free_port()
    prometheus = f"http://127.0.0.1:{prometheus_port}"
    # The rules of the products in this registry, through the catalog.
    rules_file = tmp_path / "rules" / "slo.yml"
    generated = CliRunner().invoke(
        app, ["slo", "rules", "--registry", mesh.url, "--out", str(rules_file)]
    )
    assert generated.exit_code == 0, generated.output
    assert orders.ref in rules_file.read_text()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_file)],
        "scrape_configs": [
            {
                "job_name": "streammesh-quality-monitor",
                "static_configs": [{"targets": [f"127.0.0.1:{settings.port}"]}],
            }
        ],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--web.listen-address=127.0.0.1:{prometheus_port}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
    ]
    monitor_argv = [sys.executable, "-m", "services.quality_monitor"]
    with (
        process(monitor_argv, tmp_path / "monitor.log", env),
        process(argv, tmp_path / "prometheus.log"),
    ):
        wait_until(lambda: up(f"{monitor}/health"), timeout=60, what="the monitor")
        wait_until(lambda: up(f"{prometheus}/-/ready"), timeout=60, what="Prometheus")
        corpus = [
            Sample(orders.topic, f"k{n}".encode(), encode(orders, order(n)), None)
            for n in range(25)
        ]
        publish_samples(mesh.bootstrap_servers, corpus)
        checked = f'streammesh_quality_records_checked_total{{product="{orders.ref}"}}'

        def scraped_all() -> bool:
            found = query(prometheus, f"sum({checked})")
            return bool(found) and float(found[0]["value"][1]) == len(corpus)

        wait_until(scraped_all, timeout=60, what="Prometheus to scrape every record checked")
        assert query(prometheus, 'up{job="streammesh-quality-monitor"}')[0]["value"][1] == "1"
        ready = query(prometheus, "streammesh_monitor_ready")
        assert ready
        assert ready[0]["value"][1] == "1"
        # More records once the series exists, so rates have two samples to go by.
        publish_samples(mesh.bootstrap_servers, corpus)
        recorded = f'streammesh:completeness_errors:ratio_rate5m{{product="{orders.ref}"}}'

        def recorded_zero() -> bool:  # every record was good
            found = query(prometheus, recorded)
            return bool(found) and float(found[0]["value"][1]) == 0.0

        wait_until(recorded_zero, timeout=30, what="the SLI rules")
        rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert {g["name"] for g in rules} >= {"streammesh-sli", f"streammesh-slo:{orders.ref}"}
        assert all(r["health"] != "err" for g in rules for r in g["rules"])
