"""Dropping metadata tags that are all inline changes no verdict of any CEL_FIELD rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.schema_registry_client import Metadata

from services.quality_monitor.catalog import without_redundant_tags
from streammesh.contracts import RuleEvaluator
from streammesh.products import compile_contract, load_descriptor

ROOT = Path(__file__).resolve().parents[3]


def registered(relative: str) -> tuple[Schema, dict[str, Any]]:
    descriptor = load_descriptor(ROOT / "domains" / relative)
    contract = compile_contract(descriptor, (ROOT / descriptor.topic.value_schema).read_text())
    metadata = Metadata.from_dict(dict(contract.metadata))
    return Schema(contract.schema, "AVRO", [], metadata, None), dict(contract.rule_set)


PROFILES: list[dict[str, object]] = [
    {"customer_id": "c", "email": "a@b.c", "segment": "consumer", "country": "DE"},
    {"customer_id": "c", "email": "", "segment": "consumer", "country": "DE"},
    {"customer_id": "", "email": "x y", "segment": "consumer", "country": "de"},
]


@pytest.mark.parametrize(
    "relative",
    [
        "customers/products/profiles.yaml",
        "sales/products/orders.yaml",
        "marketing/products/customer_lifetime_value.yaml",
    ],
)
def test_shipped_contracts_carry_every_tag_inline(relative: str) -> None:
    schema, _ = registered(relative)
    assert schema.metadata is not None
    assert without_redundant_tags(schema).metadata is None


def test_verdicts_are_the_same_with_and_without_the_metadata() -> None:
    schema, rule_set = registered("customers/products/profiles.yaml")
    full = RuleEvaluator.from_rule_set(rule_set, "WRITE", schema=schema)
    lean = RuleEvaluator.from_rule_set(rule_set, "WRITE", schema=without_redundant_tags(schema))
    for partial in PROFILES:
        record = {**partial, "signup_time": 0, "updated_at": 0}
        assert full.evaluate(record) == lean.evaluate(record)
    assert [
        v.rule_name for v in lean.evaluate({**PROFILES[1], "signup_time": 0, "updated_at": 0})
    ] == [
        "email_well_formed",
        "pii_not_blank",
    ]


def test_a_wildcard_or_a_tag_only_in_metadata_keeps_the_metadata() -> None:
    schema, _ = registered("customers/products/profiles.yaml")
    assert schema.metadata is not None
    for extra in (
        {"streammesh.customers.Profile.*": ["PII"]},
        {"streammesh.customers.Profile.country": ["PII"]},
    ):
        tags = {**schema.metadata.to_dict()["tags"], **extra}
        metadata = Metadata.from_dict({**schema.metadata.to_dict(), "tags": tags})
        kept = Schema(schema.schema_str, "AVRO", [], metadata, None)
        assert without_redundant_tags(kept) is kept
