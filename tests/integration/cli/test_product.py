"""`product check` fails (exit 1) on every kind of error, `apply` is idempotent and applies
inputs first, and `--dry-run` changes neither topics nor subjects."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from streammesh.cli import app
from tests.integration.sdk.workspace import Workspace

pytestmark = pytest.mark.integration

runner = CliRunner()
ORDERS = "sales/products/orders.yaml"


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def check_json(*args: str | Path) -> tuple[int, dict[str, object]]:
    code, out = run("product", "check", "--output", "json", *args)
    return code, json.loads(out)


def codes(report: dict[str, object]) -> set[str]:
    results = report["results"]
    assert isinstance(results, list)
    return {v["code"] for r in results for v in r["violations"]}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def topics_and_subjects(admin: AdminClient, url: str, prefix: str) -> tuple[set[str], object]:
    topics = {t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix)}
    subjects = httpx.get(f"{url}/subjects", timeout=10).json()
    return topics, subjects


def test_check_passes_the_shipped_products(workspace: Workspace) -> None:
    code, report = check_json(workspace.root / "domains")
    assert code == 0, report
    assert report["ok"] is True
    assert report["registry"] is not None


@pytest.mark.parametrize(
    ("relative", "old", "new", "code"),
    [
        (ORDERS, "contact: sales-platform@streammesh.example", "contact: x", "ownership.contact"),
        (ORDERS, "expr: message.amount >= 0.0", "expr: message.amount >=", "quality.cel"),
        (ORDERS, "  completeness: {ratio: 0.999, window: P1D}\n", "", "slos.missing"),
        (ORDERS, "major: 1", "major: one", "descriptor.invalid"),
        (ORDERS, "order.avsc", "missing.avsc", "schemas.invalid"),
        ("marketing/products/customer_lifetime_value.yaml", "_sales.orders.v1", "_sales.nothing.v1",
         "input_ports.unknown"),
        ("customers/products/profiles.yaml", "    classification: confidential\n", "",
         "pii.unclassified"),
    ],
)  # fmt: skip
def test_check_fails_on_each_kind_of_error(
    workspace: Workspace, relative: str, old: str, new: str, code: str
) -> None:
    edit(workspace.descriptor(relative), old, new)
    exit_code, report = check_json(workspace.root / "domains")
    assert exit_code == 1
    assert code in codes(report)
    human_code, human = run("product", "check", workspace.descriptor(relative))
    assert human_code == 1
    assert code in human


def test_check_reports_incompatibility_and_broken_downstream(workspace: Workspace) -> None:
    domains = workspace.root / "domains"
    assert run("product", "apply", domains)[0] == 0
    schema = workspace.root / "schemas" / "avro" / workspace.domain("sales") / "order.avsc"
    edit(schema, '{"name": "currency", "type": "string"', '{"name": "currency", "type": "int"')
    code, report = check_json(workspace.descriptor(ORDERS))
    assert code == 1
    assert {"registry.incompatible", "registry.impact"} <= codes(report)
    assert workspace.ref("marketing.customer_lifetime_value.v1") in json.dumps(report)


def test_apply_twice_changes_nothing_the_second_time_and_dry_run_changes_nothing(
    workspace: Workspace, admin: AdminClient, registry_url: str
) -> None:
    domains = workspace.root / "domains"
    before = topics_and_subjects(admin, registry_url, workspace.prefix)
    code, out = run("product", "apply", "--dry-run", "--output", "json", domains)
    assert code == 0, out
    plan = json.loads(out)
    assert plan["dryRun"] is True
    refs = [p["product"] for p in plan["products"]]
    # inputs first: orders and profiles before the lifetime value, which precedes the segments
    assert refs.index(workspace.ref("marketing.customer_lifetime_value.v1")) > max(
        refs.index(workspace.ref("sales.orders.v1")),
        refs.index(workspace.ref("customers.profiles.v1")),
    )
    assert refs[-1] == workspace.ref("marketing.cltv_by_segment.v1")
    orders = plan["products"][refs.index(workspace.ref("sales.orders.v1"))]["changes"]
    assert any(line.startswith("create topic") for line in orders)
    assert any("register schema" in line for line in orders)
    assert topics_and_subjects(admin, registry_url, workspace.prefix) == before

    code, out = run("product", "apply", domains)
    assert code == 0, out
    assert "4 of 4 products changed" in out
    topics, subjects = topics_and_subjects(admin, registry_url, workspace.prefix)
    assert workspace.ref("sales.orders.v1.dlq") in topics
    assert f"{workspace.ref('sales.orders.v1')}-value" in str(subjects)

    code, out = run("product", "apply", "--output", "json", domains)
    assert code == 0, out
    assert all(p["nothingToDo"] for p in json.loads(out)["products"])
    code, out = run("product", "apply", domains)
    assert "0 of 4 products changed" in out
    assert out.count("nothing to do") == 4

    # a changed retention and rule: planned precisely, applied once
    orders_file = workspace.descriptor(ORDERS)
    edit(orders_file, "retention: P90D", "retention: P30D")
    edit(orders_file, "expr: message.amount >= 0.0", "expr: message.amount >= 0.01")
    code, out = run("product", "apply", "--dry-run", orders_file)
    assert "alter retention.ms of" in out
    assert "from 7776000000 to 2592000000" in out
    assert "rules or metadata changed" in out
    assert run("product", "apply", orders_file)[0] == 0
    assert "nothing to do" in run("product", "apply", orders_file)[1]

    edit(orders_file, "partitions: 6", "partitions: 2")
    code, out = run("product", "apply", orders_file)
    assert code == 1
    assert "cannot remove partitions" in out


def test_catalog_commands(workspace: Workspace) -> None:
    assert run("product", "apply", workspace.root / "domains")[0] == 0
    orders = workspace.ref("sales.orders")
    code, out = run("product", "list", "--domain", workspace.domain("sales"), "-o", "json")
    assert code == 0
    assert [p["ref"] for p in json.loads(out)] == [f"{orders}.v1"]
    code, out = run("product", "show", orders)
    assert code == 0
    assert "sales-platform" in out
    code, out = run("product", "lineage", f"{orders}.v1", "-o", "json")
    assert json.loads(out)["downstream"][0] == workspace.ref("marketing.customer_lifetime_value.v1")
    code, out = run("product", "export", orders, "--format", "odcs", "-o", "json")
    assert code == 0
    assert json.loads(out)["kind"] == "DataContract"
    code, out = run("product", "export", orders)
    assert "apiVersion:" in out
    segment = workspace.ref("marketing.cltv_by_segment")
    code, out = run(
        "product", "deprecate", segment, "--sunset", "2099-01-01", "--successor", f"{orders}.v1"
    )
    assert code == 0, out
    assert json.loads(run("product", "show", segment, "-o", "json")[1])["status"] == "deprecated"
    assert run("product", "show", workspace.ref("sales.nothing"))[0] == 1
    assert run("product", "show", "Not A Ref")[0] == 2
