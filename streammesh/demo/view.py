"""The demo's live terminal view and its closing summary."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Group
from rich.table import Table

from streammesh.demo.observe import Snapshot, money

_MONITOR_COLUMNS = (
    ("freshness", ("freshness_seconds", "freshness")),
    ("checked", ("checked", "records_checked")),
    ("violations", ("failed", "violations", "records_failed")),
)


def _pick(row: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        if name in row and row[name] is not None:
            value = row[name]
            return f"{value:.1f}" if isinstance(value, float) else str(value)
    return "-"


def _value(row: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(row.get("lifetime_value", 0)))
    except ArithmeticError:
        return Decimal(0)


def render(previous: Snapshot | None, now: Snapshot, urls: dict[str, str]) -> Group:
    products = Table(title="Data products", expand=True)
    for column in ("product", "records", "rate/s", "dead letters"):
        products.add_column(column, justify="left" if column == "product" else "right")
    for column, _ in _MONITOR_COLUMNS:
        products.add_column(column, justify="right")
    elapsed = (now.at - previous.at) if previous else 0.0
    for topic, written in now.records.items():
        rate = (written - previous.records.get(topic, 0)) / elapsed if previous and elapsed else 0.0
        monitor = now.monitor.get(topic) or now.monitor.get(topic.rsplit(".", 1)[0], {})
        products.add_row(
            topic,
            str(written),
            f"{rate:.1f}",
            str(now.dead_letters.get(topic, 0)),
            *(_pick(monitor, names) for _, names in _MONITOR_COLUMNS),
        )
    top = Table(title="Top customers by lifetime value", expand=True)
    for column in ("customer", "segment", "lifetime value", "orders"):
        top.add_column(column)
    for row in sorted(now.customers.values(), key=_value, reverse=True)[:5]:
        top.add_row(
            str(row.get("customer_id")),
            str(row.get("segment")),
            money(row.get("lifetime_value")),
            str(row.get("order_count")),
        )
    segments = Table(title="Segments", expand=True)
    for column in ("segment", "customers", "total", "mean"):
        segments.add_column(column)
    for name in sorted(now.segments):
        row = now.segments[name]
        segments.add_row(
            name,
            str(row.get("customer_count")),
            money(row.get("total_lifetime_value")),
            money(row.get("average_lifetime_value")),
        )
    links = "  ".join(f"{name}: {url}" for name, url in urls.items())
    return Group(products, top, segments, links)


def summary(now: Snapshot, seconds: float) -> tuple[list[str], bool]:
    """Lines to print, and whether the mesh worked end to end."""
    lines = [f"StreamMesh demo summary after {seconds:.0f}s"]
    for topic, written in now.records.items():
        lines.append(f"  {topic}: {written} records, {now.dead_letters.get(topic, 0)} dead letters")
    lines.append(f"  customers with a lifetime value: {len(now.customers)}")
    for name in sorted(now.segments):
        row = now.segments[name]
        lines.append(
            f"  segment {name}: {row.get('customer_count')} customers, "
            f"mean lifetime value {money(row.get('average_lifetime_value'))}"
        )
    best = sorted(now.customers.values(), key=_value, reverse=True)[:3]
    for row in best:
        lines.append(f"  top customer {row.get('customer_id')}: {money(row.get('lifetime_value'))}")
    problems = [f"no records in {t}" for t, n in now.records.items() if n == 0]
    if not now.customers:
        problems.append("no lifetime values computed")
    if not any(now.dead_letters.values()):
        problems.append("no dead letters, though bad records were injected")
    lines += [f"  PROBLEM: {p}" for p in problems]
    lines.append("  result: " + ("the mesh worked end to end" if not problems else "FAILED"))
    return lines, not problems
