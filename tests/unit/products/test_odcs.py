"""The ODCS export of every example product validates against the official ODCS v3 JSON Schema
and carries the descriptor's identity, owner, fields, classification, quality and SLOs."""

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator

from streammesh.products.descriptor import Descriptor
from streammesh.products.loader import SchemaLoader
from streammesh.products.odcs import ODCS_API_VERSION, to_odcs

ODCS_SCHEMA = Path(__file__).parent / "data" / "odcs-json-schema-v3.2.0.json"


@pytest.fixture(scope="module")
def validator() -> Draft201909Validator:
    schema = json.loads(ODCS_SCHEMA.read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


def export(path: str, examples: dict[Path, Descriptor], loader: SchemaLoader) -> dict[str, Any]:
    descriptor = examples[Path(path)]
    return to_odcs(
        descriptor, loader(descriptor.topic.value_schema), bootstrap_servers="localhost:9092"
    )


def test_examples_are_valid_odcs(
    validator: Draft201909Validator, examples: dict[Path, Descriptor], repo_loader: SchemaLoader
) -> None:
    for path, descriptor in examples.items():
        contract = to_odcs(descriptor, repo_loader(descriptor.topic.value_schema))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(contract)]
        assert errors == [], path
        assert validator.is_valid(export(path.as_posix(), examples, repo_loader))


def test_an_invalid_contract_is_caught(
    validator: Draft201909Validator, examples: dict[Path, Descriptor], repo_loader: SchemaLoader
) -> None:
    contract = export("domains/sales/products/orders.yaml", examples, repo_loader)
    assert not validator.is_valid({**contract, "owner": "not an ODCS field"})


def test_orders_mapping(examples: dict[Path, Descriptor], repo_loader: SchemaLoader) -> None:
    contract = export("domains/sales/products/orders.yaml", examples, repo_loader)
    assert contract["apiVersion"] == ODCS_API_VERSION
    assert (contract["id"], contract["version"], contract["status"]) == (
        "sales.orders.v1",
        "1.0.0",
        "active",
    )
    assert contract["team"] == {"name": "sales-platform"}
    assert contract["support"][0]["url"] == "mailto:sales-platform@streammesh.example"
    [obj] = contract["schema"]
    assert (obj["name"], obj["physicalName"], obj["physicalType"]) == (
        "Order",
        "sales.orders.v1",
        "topic",
    )
    props = {p["name"]: p for p in obj["properties"]}
    assert props["amount"]["logicalType"] == "number"
    assert props["amount"]["physicalType"] == "bytes(decimal(12,2))"
    assert props["event_time"]["logicalType"] == "timestamp"
    assert props["status"]["enum"] == [
        {"value": "placed"},
        {"value": "cancelled"},
        {"value": "refunded"},
    ]
    assert props["customer_id"]["classification"] == "internal"
    assert props["currency"]["quality"][0]["implementation"]["type"] == "CEL_FIELD"
    items = props["line_items"]["items"]
    assert [p["name"] for p in items["properties"]] == ["sku", "quantity", "unit_price"]
    assert items["properties"][1]["quality"][0]["name"] == "line_item_quantity_positive"
    assert [q["name"] for q in obj["quality"]] == ["amount_non_negative", "has_line_items"]
    sla = {s["property"]: s for s in contract["slaProperties"]}
    assert (sla["latency"]["value"], sla["latency"]["unit"]) == (60, "s")
    assert sla["availability"]["value"] == 0.995
    assert sla["retention"] == {"property": "retention", "value": 90, "unit": "d"}
    assert contract["servers"][0]["type"] == "kafka"


def test_lineage_and_pii(examples: dict[Path, Descriptor], repo_loader: SchemaLoader) -> None:
    cltv = export("domains/marketing/products/customer_lifetime_value.yaml", examples, repo_loader)
    custom = {c["property"]: c["value"] for c in cltv["customProperties"]}
    assert custom["inputPorts"] == ["sales.orders.v1", "customers.profiles.v1"]
    profiles = export("domains/customers/products/profiles.yaml", examples, repo_loader)
    email = next(p for p in profiles["schema"][0]["properties"] if p["name"] == "email")
    assert (email["classification"], email["tags"]) == ("confidential", ["PII"])
