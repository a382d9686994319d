"""`publish` sends the good lines of a file and reports each bad one with its reason (exit 1),
or with `--dlq` dead-letters them: a record the contract refuses as the producer encoded it,
a line that never became a record as read; `tail` prints records back decoded, JSON-safe."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer, Message
from confluent_kafka.schema_registry import SchemaRegistryClient
from typer.testing import CliRunner

from streammesh.cli import app
from streammesh.serde import AvroDeserializer
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


def test_publish_dlq_sends_every_refused_line_to_the_dead_letter_topic(
    workspace: Workspace, bootstrap_servers: str, registry_url: str, group_id: str
) -> None:
    assert runner.invoke(app, ["product", "apply", str(workspace.root / "domains")]).exit_code == 0
    lines = [
        json.dumps(GOOD),
        json.dumps({**GOOD, "order_id": "o-3", "currency": "eur"}),
        "not json",
        json.dumps({**GOOD, "order_id": "o-4", "amount": "ten"}),
    ]
    path = workspace.root / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n")
    product = workspace.ref("sales.orders")
    args = ["publish", product, "-f", str(path), "--key-field", "customer_id", "--dlq"]
    result = runner.invoke(app, [*args, "-o", "json"])
    assert result.exit_code == 0, result.output  # nothing lost: every line went somewhere
    summary = json.loads(result.output)
    assert (summary["sent"], summary["dead_lettered"], summary["delivered"]) == (1, 3, 4)
    assert [r["line"] for r in summary["refused"]] == [2, 3, 4]

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([f"{product}.v1.dlq"])
    letters: list[Message] = []
    deadline = time.monotonic() + 30
    while len(letters) < 3 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            letters.append(message)
    consumer.close()
    assert len(letters) == 3
    by_value = {m.value(): _headers(m) for m in letters}
    # the record the contract refused, in the product's wire format; the others as read
    (encoded,) = set(by_value) - {line.encode() for line in lines[2:]}
    registry = SchemaRegistryClient({"url": registry_url})
    try:
        decoded = AvroDeserializer(registry)(encoded)
    finally:
        registry.close()
    assert isinstance(decoded, dict)
    assert (decoded["order_id"], decoded["currency"]) == ("o-3", "eur")
    rule = by_value[encoded]
    assert rule["__streammesh.reason"] == b"rule_violation"
    assert rule["__rule.name"] == b"currency_iso_4217"
    assert rule["__streammesh.format"] == b"avro"
    assert rule["__rule.topic"] == f"{product}.v1".encode()
    text = by_value[b"not json"]
    assert text["__streammesh.format"] == b"text"
    assert b"not JSON" in text["__rule.exception"]
    mismatch = by_value[lines[3].encode()]
    assert mismatch["__streammesh.reason"] == b"undecodable"
    assert b"amount" in mismatch["__rule.exception"]
    # the key is kept when it fitted the key schema (a rule broke, not the shape)
    keys = {m.value(): m.key() for m in letters}
    assert keys[encoded] is not None
    assert keys[b"not json"] is None

    human = runner.invoke(app, args)
    assert human.exit_code == 0, human.output
    assert "3 refused (3 to the dead-letter topic)" in human.output


def _headers(message: Message) -> dict[str, bytes]:
    raw = message.headers() or []
    items = list(raw.items()) if isinstance(raw, dict) else raw
    return {name: value if isinstance(value, bytes) else b"" for name, value in items}
