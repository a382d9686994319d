"""Apply's plan: inputs before the products reading them, and a registry step only for what
differs (a first schema, a new version, changed rules or metadata, a changed descriptor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streammesh.cli.plan import ProductPlan, SubjectState, dependency_order, registry_changes
from streammesh.products import Descriptor, compile_contract, load_descriptor
from streammesh.sdk.topics import TopicPlan

ROOT = Path(__file__).resolve().parents[3]


def shipped(relative: str) -> Descriptor:
    return load_descriptor(ROOT / "domains" / relative)


ORDERS = shipped("sales/products/orders.yaml")
PROFILES = shipped("customers/products/profiles.yaml")
CLV = shipped("marketing/products/customer_lifetime_value.yaml")
SEGMENTS = shipped("marketing/products/cltv_by_segment.yaml")
CONTRACT = compile_contract(ORDERS, (ROOT / ORDERS.topic.value_schema).read_text())
LATEST = {"version": 2, "metadata": CONTRACT.metadata, "ruleSet": CONTRACT.rule_set}
SAME = SubjectState(LATEST, {"version": 2})


def test_dependency_order_puts_inputs_first_and_keeps_the_rest() -> None:
    ordered = [d.ref for d in dependency_order([SEGMENTS, CLV, PROFILES, ORDERS])]
    assert ordered == [
        "sales.orders.v1",
        "customers.profiles.v1",
        "marketing.customer_lifetime_value.v1",
        "marketing.cltv_by_segment.v1",
    ]
    assert [d.ref for d in dependency_order([PROFILES, ORDERS])] == [
        "customers.profiles.v1",
        "sales.orders.v1",
    ]


def test_a_cycle_is_named() -> None:
    looped = ORDERS.model_copy(update={"input_ports": ("marketing.cltv_by_segment.v1",)})
    with pytest.raises(ValueError, match="cycle"):
        dependency_order([looped, CLV, SEGMENTS])


def test_nothing_to_do_when_everything_matches() -> None:
    changes = registry_changes(ORDERS, CONTRACT, value=SAME, key=SAME, stored=ORDERS)
    assert changes == []
    assert ProductPlan(ORDERS.ref, TopicPlan(), changes).empty


def test_a_new_product_registers_schemas_and_itself() -> None:
    new = SubjectState(None, None)
    assert registry_changes(ORDERS, CONTRACT, value=new, key=new, stored=None) == [
        "register schema sales.orders.v1-value (first version)",
        "register schema sales.orders.v1-key (first version)",
        "register product sales.orders.v1 in the catalog",
    ]


def test_a_changed_schema_rule_or_descriptor_is_planned() -> None:
    changed = SubjectState(LATEST, None)
    assert registry_changes(ORDERS, CONTRACT, value=changed, key=SAME, stored=ORDERS) == [
        "register new schema version of sales.orders.v1-value (after version 2)",
        "update catalog entry of sales.orders.v1 to the new schema",
    ]
    other_rules = SubjectState({**LATEST, "ruleSet": {"domainRules": []}}, {"version": 2})
    assert registry_changes(ORDERS, CONTRACT, value=other_rules, key=None, stored=ORDERS)[0] == (
        "register new schema version of sales.orders.v1-value (rules or metadata changed)"
    )
    older = ORDERS.model_copy(update={"status": "draft"})
    assert registry_changes(ORDERS, CONTRACT, value=SAME, key=SAME, stored=older) == [
        "update descriptor of sales.orders.v1 (status)"
    ]
