"""Every Grafana panel queries valid PromQL over StreamMesh metrics and recorded SLIs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.quality_monitor.dashboards import (
    DASHBOARDS,
    ROOT,
    as_promql,
    metric_names,
    panels,
    queries,
)


def test_both_dashboards_exist_and_the_product_one_has_a_product_variable() -> None:
    assert [p.name for p in DASHBOARDS] == ["mesh-overview.json", "product.json"]
    product = json.loads((ROOT / "deploy/grafana/dashboards/product.json").read_text())
    variables = {v["name"]: v for v in product["templating"]["list"]}
    assert "product" in variables
    assert "streammesh_" in variables["product"]["definition"]
    uids = {json.loads(p.read_text())["uid"] for p in DASHBOARDS}
    assert len(uids) == len(DASHBOARDS)


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_queries_streammesh_metrics(dashboard: Path) -> None:
    for panel in panels(dashboard):
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            assert all(n.startswith(("streammesh_", "streammesh:")) for n in names)


def test_recorded_names_in_panels_are_recorded_by_the_slo_rules() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules/slo.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    used = {n for d in DASHBOARDS for q in queries(d) for n in metric_names(q) if ":" in n}
    assert used
    assert used <= recorded


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: apt-get install prometheus (make test does)")
    exprs = [as_promql(q) for d in DASHBOARDS for q in queries(d)]
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(exprs)} rules found" in result.stdout
