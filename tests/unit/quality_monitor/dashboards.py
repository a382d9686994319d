"""The Grafana dashboards' queries, as the tests read them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
_NAME = re.compile(r"\b(streammesh[_:][a-zA-Z0-9_:]*)")


def panels(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(path.read_text())["panels"]
    return found


def queries(path: Path) -> list[str]:
    return [target["expr"] for panel in panels(path) for target in panel["targets"]]


def as_promql(expr: str) -> str:
    """A dashboard query with its Grafana variables filled in, as Prometheus would get it."""
    return expr.replace("$product", "sales.orders.v1")


def metric_names(expr: str) -> set[str]:
    return set(_NAME.findall(expr))
