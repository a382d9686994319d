"""A compiled contract has Confluent's JSON shape, and Confluent's own Avro serializer, given the
registered contract, accepts good records and refuses each kind of bad one."""

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Metadata, RuleSet, Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.schema_registry.rules.cel.cel_field_executor import CelFieldExecutor
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from streammesh.products.contract import ContractRegistration, compile_contract
from streammesh.products.descriptor import Descriptor
from streammesh.products.errors import ContractError
from streammesh.products.loader import SchemaLoader
from tests.unit.products.conftest import VISIT_SCHEMA, DescriptorFactory

ORDERS = Path("domains/sales/products/orders.yaml")
PROFILES = Path("domains/customers/products/profiles.yaml")


def contract_of(
    path: Path, examples: dict[Path, Descriptor], loader: SchemaLoader
) -> ContractRegistration:
    descriptor = examples[path]
    return compile_contract(descriptor, loader(descriptor.topic.value_schema))


def test_orders_rules_in_confluent_shape(
    examples: dict[Path, Descriptor], repo_loader: SchemaLoader
) -> None:
    contract = contract_of(ORDERS, examples, repo_loader)
    rules = {rule["name"]: rule for rule in contract.rule_set["domainRules"]}
    assert rules["amount_non_negative"] == {
        "name": "amount_non_negative",
        "doc": "An order total is never negative.",
        "kind": "CONDITION",
        "mode": "WRITE",
        "type": "CEL",
        "expr": "message.amount >= 0.0",
        "onFailure": "ERROR",
        "disabled": False,
    }
    quantity = rules["line_item_quantity_positive"]
    assert quantity["type"] == "CEL_FIELD"
    assert quantity["expr"] == "fullName == 'streammesh.sales.LineItem.quantity' ; value > 0"
    assert quantity["onFailure"] == "DLQ"
    assert quantity.get("params") == {"dlq.topic": "sales.orders.v1.dlq"}
    assert contract.subject == "sales.orders.v1-value"
    # Round-trips through confluent's own model unchanged.
    parsed = RuleSet.from_dict(dict(contract.rule_set)).to_dict()
    assert parsed["domainRules"] == contract.rule_set["domainRules"]


def test_profiles_tags_inline_and_in_metadata(
    examples: dict[Path, Descriptor], repo_loader: SchemaLoader
) -> None:
    contract = contract_of(PROFILES, examples, repo_loader)
    assert contract.metadata["tags"] == {
        "streammesh.customers.Profile.customer_id": ["INTERNAL"],
        "streammesh.customers.Profile.email": ["CONFIDENTIAL", "PII"],
    }
    fields = {f["name"]: f for f in json.loads(contract.schema)["fields"]}
    assert fields["email"]["confluent:tags"] == ["CONFIDENTIAL", "PII"]
    assert "confluent:tags" not in fields["segment"]
    properties = contract.metadata["properties"]
    assert properties["owner"] == "customer-identity"
    assert properties["slo.freshness.seconds"] == "300"
    assert contract.metadata["sensitive"] == []  # the contact is a URL, not a person's email
    pii_rule = contract.rule_set["domainRules"][1]
    assert pii_rule["tags"] == ["PII"]
    assert pii_rule["expr"] == "typeName == 'STRING' ; value.size() > 0"
    assert Metadata.from_dict(dict(contract.metadata)).to_dict() == contract.metadata


def test_field_rule_keeps_its_own_guard(descriptor_factory: DescriptorFactory) -> None:
    rule = {"name": "g", "field": "page", "expr": "value != null ; value.size() > 0"}
    contract = compile_contract(descriptor_factory(quality=[rule]), VISIT_SCHEMA)
    expr = contract.rule_set["domainRules"][0]["expr"]
    assert expr == "fullName == 'shop.Visit.page' && (value != null) ; value.size() > 0"


def test_unknown_field_is_a_contract_error(descriptor_factory: DescriptorFactory) -> None:
    with pytest.raises(ContractError, match="no field 'pages'"):
        compile_contract(
            descriptor_factory(quality=[{"name": "x", "field": "pages", "expr": "true"}]),
            VISIT_SCHEMA,
        )
    with pytest.raises(ContractError, match="must be a record"):
        compile_contract(descriptor_factory(), '"string"')


def test_request_body(examples: dict[Path, Descriptor], repo_loader: SchemaLoader) -> None:
    body = contract_of(ORDERS, examples, repo_loader).request_body()
    assert set(body) == {"schemaType", "schema", "metadata", "ruleSet"}
    json.dumps(body)  # plain JSON all the way down


@pytest.fixture
def registry() -> Iterator[SchemaRegistryClient]:
    client = SchemaRegistryClient.new_client({"url": "mock://"})
    try:
        yield client
    finally:
        client.close()


def serializer_for(
    contract: ContractRegistration, registry: SchemaRegistryClient
) -> AvroSerializer:
    CelExecutor.register()  # type: ignore[no-untyped-call] # confluent leaves it unannotated
    CelFieldExecutor.register()  # type: ignore[no-untyped-call] # confluent leaves it unannotated
    registry.register_schema(
        contract.subject,
        Schema(
            contract.schema,
            "AVRO",
            metadata=Metadata.from_dict(dict(contract.metadata)),
            rule_set=RuleSet.from_dict(dict(contract.rule_set)),
        ),
    )
    conf = {"auto.register.schemas": False, "use.latest.version": True}
    serializer: AvroSerializer = AvroSerializer(registry, None, conf=conf)
    return serializer


def order(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "order_id": "o-1",
        "customer_id": "c-1",
        "amount": Decimal("19.98"),
        "currency": "EUR",
        "line_items": [{"sku": "sku-1", "quantity": 2, "unit_price": Decimal("9.99")}],
        "status": "placed",
        "event_time": 1_767_225_600_000,
    }
    return {**record, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"amount": Decimal("-1.00")}, id="negative amount"),
        pytest.param({"currency": "eur"}, id="lower-case currency"),
        pytest.param({"line_items": []}, id="no line items"),
    ],
)
def test_confluent_serializer_enforces_the_orders_contract(
    changes: dict[str, Any],
    examples: dict[Path, Descriptor],
    repo_loader: SchemaLoader,
    registry: SchemaRegistryClient,
) -> None:
    serialize = serializer_for(contract_of(ORDERS, examples, repo_loader), registry)
    ctx = SerializationContext("sales.orders.v1", MessageField.VALUE)
    assert serialize(order(), ctx)
    with pytest.raises(SerializationError):
        serialize(order(**changes), ctx)


def test_confluent_serializer_runs_tag_rules(
    examples: dict[Path, Descriptor], repo_loader: SchemaLoader, registry: SchemaRegistryClient
) -> None:
    serialize = serializer_for(contract_of(PROFILES, examples, repo_loader), registry)
    ctx = SerializationContext("customers.profiles.v1", MessageField.VALUE)
    profile = {
        "customer_id": "c-1",
        "email": "ada@example.com",
        "segment": "consumer",
        "country": "GB",
        "signup_time": 0,
        "updated_at": 0,
    }
    assert serialize(profile, ctx)
    with pytest.raises(SerializationError):
        serialize({**profile, "country": "gb"}, ctx)
