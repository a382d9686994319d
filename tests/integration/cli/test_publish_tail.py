"""`publish` sends the good lines of a file and reports each bad one with its reason (exit 1);
`tail` prints them back decoded, JSON-safe."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from streammesh.cli import app
from tests.integration.sdk.workspace import Workspace

pytestmark = pytest.mark.integration

runner = CliRunner()

GOOD = {
    "order_id": "o-1",
    "customer_id": "c-1",
    "amount": "12.50",
    "currency": "EUR",
    "line_items": [{"sku": "s-1", "quantity": 1, "unit_price": 12.5}],
    "status": "placed",
    "event_time": "2026-11-25T12:00:00Z",
}


def test_publish_sends_good_lines_reports_bad_ones_and_tail_reads_them_back(
    workspace: Workspace,
) -> None:
    assert runner.invoke(app, ["product", "apply", str(workspace.root / "domains")]).exit_code == 0
    lines = [
        GOOD,
        {**GOOD, "order_id": "o-2", "amount": 3, "event_time": 1795600000000},
        {**GOOD, "order_id": "o-3", "currency": "eur"},
        {**GOOD, "order_id": "o-4", "amount": "ten"},
        "not json",
        {**GOOD, "order_id": "o-6", "colour": "red"},
        {**GOOD, "order_id": "o-7", "amount": "-1"},
    ]
    path = workspace.root / "orders.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    product = workspace.ref("sales.orders")
    result = runner.invoke(
        app, ["publish", product, "--file", str(path), "--key-field", "customer_id", "-o", "json"]
    )
    assert result.exit_code == 1, result.output
    summary = json.loads(result.output)
    assert (summary["sent"], summary["delivered"]) == (2, 2)
    refused = {r["line"]: r for r in summary["refused"]}
    assert sorted(refused) == [3, 4, 5, 6, 7]
    assert refused[3]["rules"] == ["currency_iso_4217"]
    assert "amount" in refused[4]["reasons"][0]
    assert "not JSON" in refused[5]["reasons"][0]
    assert "colour" in refused[6]["reasons"][0]
    assert refused[7]["rules"] == ["amount_non_negative"]

    human = runner.invoke(app, ["publish", f"{product}.v1", "-f", str(path)])
    assert human.exit_code == 1
    assert "line 3" in human.output
    assert "currency_iso_4217" in human.output

    tailed = runner.invoke(app, ["tail", product, "--from-beginning", "-o", "json", "--max", "4"])
    assert tailed.exit_code == 0, tailed.output
    records = [json.loads(line) for line in tailed.output.splitlines()]
    values = sorted((r["value"] for r in records), key=lambda v: v["order_id"])
    assert [v["order_id"] for v in values] == ["o-1", "o-1", "o-2", "o-2"]
    assert values[0]["amount"] == "12.50"
    assert values[0]["event_time"] == "2026-11-25T12:00:00+00:00"
    assert values[2]["amount"] == "3.00"
    assert values[2]["event_time"] == "2026-11-25T09:46:40+00:00"
    assert {r["key"] for r in records} == {"c-1", None}  # --key-field in the first run only

    table = runner.invoke(app, ["tail", product, "--from-beginning"])
    assert table.exit_code == 0
    assert "4 records from" in table.output

    empty = workspace.root / "empty.jsonl"
    empty.write_text(json.dumps(GOOD) + "\n")
    ok = runner.invoke(app, ["publish", product, "--file", str(empty)])
    assert ok.exit_code == 0, ok.output
    assert "1 sent" in ok.output
