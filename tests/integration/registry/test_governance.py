"""No path round the catalog's governance: with auth on, over real Kafka, a domain owner cannot
lower its product's compatibility, register a schema that PUT /products would refuse or that
drops the contract, delete its versions or change its mode; its other subjects are plain
Confluent, and admins override only where Confluent leaves things to operators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from services.registry.api.auth import hash_password
from streammesh.products.loader import load_descriptor
from tests.conftest import RegistryFactory

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
USERS = {
    "sales": ("sales-pw", "owner", ["sales"]),
    "customers": ("customers-pw", "owner", ["customers"]),
    "ops": ("ops-pw", "admin", []),
}
ORDERS, PROFILES = "sales.orders.v1-value", "customers.profiles.v1-value"
SCRATCH = "sales.scratch.v1-value"  # the sales domain's, but no product's


def product(relative: str, value_schema: str | None = None, **changes: Any) -> dict[str, Any]:
    """The ``PUT /products`` body of a shipped product, its value schema optionally replaced."""
    descriptor = load_descriptor(ROOT / "domains" / relative)
    body: dict[str, Any] = {
        "descriptor": {**descriptor.model_dump(mode="json", by_alias=True), **changes},
        "valueSchema": value_schema or (ROOT / descriptor.topic.value_schema).read_text(),
    }
    if descriptor.topic.key_schema:
        body["keySchema"] = (ROOT / descriptor.topic.key_schema).read_text()
    return body


def edited(schema: str, **fields: dict[str, Any] | None) -> str:
    """``schema`` with fields replaced, added (a dict) or removed (None)."""
    parsed = json.loads(schema)
    kept = [f for f in parsed["fields"] if f["name"] not in fields]
    replaced = [{"name": name, **f} for name, f in fields.items() if f is not None]
    return json.dumps({**parsed, "fields": kept + replaced})


def undocumented(schema: str, name: str) -> str:
    parsed = json.loads(schema)
    for field in parsed["fields"]:
        if field["name"] == name:
            del field["doc"]
    return json.dumps(parsed)


@pytest.fixture
def url(registry_factory: RegistryFactory, tmp_path: Path) -> str:
    users = {
        name: {"password": hash_password(pw, iterations=1000), "role": role, "domains": domains}
        for name, (pw, role, domains) in USERS.items()
    }
    auth_file = tmp_path / "users.yaml"
    auth_file.write_text(yaml.safe_dump({"users": users}))
    return registry_factory(auth_file=auth_file)


@pytest.fixture
def users(url: str) -> Iterator[dict[str, httpx.Client]]:
    clients = {
        name: httpx.Client(base_url=url, auth=(name, pw), timeout=30)
        for name, (pw, _, _) in USERS.items()
    }
    for who, relative in (
        ("sales", "sales/products/orders.yaml"),
        ("customers", "customers/products/profiles.yaml"),
    ):
        descriptor = load_descriptor(ROOT / "domains" / relative)
        answer = clients[who].put(
            f"/products/{descriptor.domain}/{descriptor.name}", json=product(relative)
        )
        assert answer.status_code == 200, answer.text
    yield clients
    for client in clients.values():
        client.close()


def latest(http: httpx.Client, subject: str) -> str:
    schema = http.get(f"/subjects/{subject}/versions/latest").json()["schema"]
    assert isinstance(schema, str)
    return schema


def error(answer: httpx.Response) -> tuple[int, int, str]:
    body = answer.json()
    return answer.status_code, body["error_code"], body["message"]


def test_the_measured_bypass_is_closed_for_a_confluent_client(
    url: str, users: dict[str, httpx.Client]
) -> None:
    plain = (ROOT / "schemas/avro/sales/order.avsc").read_text()
    with SchemaRegistryClient({"url": url, "basic.auth.user.info": "sales:sales-pw"}) as client:
        with pytest.raises(SchemaRegistryError) as lowered:
            client.set_compatibility(ORDERS, "NONE")
        assert (lowered.value.http_status_code, lowered.value.error_code) == (422, 42203)
        assert lowered.value.error_message == (
            f"Subject '{ORDERS}' belongs to data product 'sales.orders.v1': its compatibility "
            "level cannot become NONE, below the floor BACKWARD (allowed: BACKWARD, "
            "BACKWARD_TRANSITIVE, FULL, FULL_TRANSITIVE). A breaking change ships as a new "
            "major version of the product"
        )
        with pytest.raises(SchemaRegistryError) as untagged:
            client.register_schema(ORDERS, Schema(plain, "AVRO"))
        assert (untagged.value.http_status_code, untagged.value.error_code) == (422, 42290)
        assert "[contract.tags] field 'customer_id' must keep its tags INTERNAL" in (
            untagged.value.error_message
        )
        # a breaking change that keeps the contract meets the floor
        breaking = edited(latest(users["sales"], ORDERS), order_id={"type": "long", "doc": "Id."})
        with pytest.raises(SchemaRegistryError) as incompatible:
            client.register_schema(ORDERS, Schema(breaking, "AVRO"))
        assert incompatible.value.error_code == 409
    assert users["sales"].get(f"/subjects/{ORDERS}/versions").json() == [1]


def test_a_schema_put_products_refuses_is_refused_the_same_way_through_subjects(
    users: dict[str, httpx.Client],
) -> None:
    sales, customers = users["sales"], users["customers"]
    # no doc on a field
    plain = (ROOT / "schemas/avro/sales/order.avsc").read_text()
    through_products = sales.put(
        "/products/sales/orders",
        json=product("sales/products/orders.yaml", undocumented(plain, "currency")),
    )
    through_subjects = sales.post(
        f"/subjects/{ORDERS}/versions",
        json={"schema": undocumented(latest(sales, ORDERS), "currency")},
    )
    status, code, message = error(through_subjects)
    assert (status, code) == (422, 42290)
    assert "[documentation.field_doc] field 'currency'" in message
    assert through_subjects.json() == through_products.json()
    # a personal field without a classification
    phone = {"type": ["null", "string"], "default": None, "doc": "A phone number."}
    plain = (ROOT / "schemas/avro/customers/profile.avsc").read_text()
    through_products = customers.put(
        "/products/customers/profiles",
        json=product("customers/products/profiles.yaml", edited(plain, phone=phone)),
    )
    through_subjects = customers.post(
        f"/subjects/{PROFILES}/versions",
        json={"schema": edited(latest(customers, PROFILES), phone=phone)},
    )
    assert error(through_subjects)[:2] == (422, 42290)
    assert "[pii.unclassified] field 'phone'" in error(through_subjects)[2]
    assert through_subjects.json() == through_products.json()
    assert customers.get(f"/subjects/{PROFILES}/versions").json() == [1]


def test_a_schema_that_drops_the_contract_is_refused(users: dict[str, httpx.Client]) -> None:
    customers = users["customers"]
    plain = (ROOT / "schemas/avro/customers/profile.avsc").read_text()
    untagged = customers.post(f"/subjects/{PROFILES}/versions", json={"schema": plain})
    status, code, message = error(untagged)
    assert (status, code) == (422, 42290)
    assert "[contract.tags] field 'email' must keep its tags CONFIDENTIAL, PII" in message
    no_rules = customers.post(
        f"/subjects/{PROFILES}/versions",
        json={"schema": latest(customers, PROFILES), "ruleSet": {"domainRules": []}},
    )
    status, code, message = error(no_rules)
    assert (status, code) == (422, 42290)
    for rule in ("email_well_formed", "pii_not_blank", "country_iso_3166"):
        assert f"[contract.rules] quality rule '{rule}' must stay" in message
    # keeping it, a new version is registered and carries the rules over
    tier = {"type": ["null", "string"], "default": None, "doc": "Loyalty tier."}
    kept = customers.post(
        f"/subjects/{PROFILES}/versions",
        json={"schema": edited(latest(customers, PROFILES), loyalty_tier=tier)},
    )
    assert kept.status_code == 200, kept.text
    second = customers.get(f"/subjects/{PROFILES}/versions/2").json()
    first = customers.get(f"/subjects/{PROFILES}/versions/1").json()
    assert second["ruleSet"] == first["ruleSet"]


def test_the_owners_other_subjects_are_plain_confluent(users: dict[str, httpx.Client]) -> None:
    sales = users["sales"]
    first = {"type": "record", "name": "Scratch", "fields": [{"name": "a", "type": "string"}]}
    breaking = {**first, "fields": [{"name": "a", "type": "long"}]}
    for method, path, payload in (
        ("POST", f"/subjects/{SCRATCH}/versions", {"schema": json.dumps(first)}),
        ("PUT", f"/config/{SCRATCH}", {"compatibility": "NONE"}),
        ("POST", f"/subjects/{SCRATCH}/versions", {"schema": json.dumps(breaking)}),
        ("DELETE", f"/subjects/{SCRATCH}/versions/1", None),
        ("DELETE", f"/config/{SCRATCH}", None),
        ("PUT", f"/mode/{SCRATCH}", {"mode": "READONLY"}),
    ):
        answer = sales.request(method, path, json=payload)
        assert answer.status_code == 200, (method, path, answer.text)


def test_deletes_and_modes_of_a_product_subject_are_an_admins(
    users: dict[str, httpx.Client],
) -> None:
    sales, ops = users["sales"], users["ops"]
    for path in (f"/subjects/{ORDERS}/versions/latest", f"/subjects/{ORDERS}"):
        status, code, message = error(sales.delete(path))
        assert (status, code) == (422, 42205)
        assert "which is active: its versions are deleted once the product is retired" in message
    for mode in ("READONLY", "IMPORT", "READWRITE"):
        status, code, message = error(sales.put(f"/mode/{ORDERS}", json={"mode": mode}))
        assert (status, code) == (403, 40301)
        assert "Only an admin may" in message
    assert ops.put(f"/mode/{ORDERS}", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    assert ops.delete(f"/mode/{ORDERS}").status_code == 200
    # once the product is retired, its subjects are its owner's to clean up
    deprecated = sales.post(
        "/products/sales/orders/deprecate",
        json={"sunset": "2099-01-01", "successor": "customers.profiles.v1"},
    )
    assert deprecated.status_code == 200, deprecated.text
    assert "which is deprecated" in error(sales.delete(f"/subjects/{ORDERS}"))[2]
    assert sales.post("/products/sales/orders/retire", json={}).status_code == 200
    assert sales.delete(f"/subjects/{ORDERS}").json() == [1]
    # an admin deletes a governed product's version, as Confluent's operators do
    assert ops.delete(f"/subjects/{PROFILES}/versions/1").json() == 1


def test_an_admin_cannot_lower_the_floor_either_and_the_global_level_keeps_it(
    users: dict[str, httpx.Client],
) -> None:
    sales, ops = users["sales"], users["ops"]
    assert error(ops.put(f"/config/{ORDERS}", json={"compatibility": "NONE"}))[:2] == (422, 42203)
    assert ops.put("/config", json={"compatibility": "NONE"}).json() == {"compatibility": "NONE"}
    assert ops.get("/config").json()["compatibilityLevel"] == "NONE"
    for subject in (ORDERS, ORDERS.replace("-value", "-key"), PROFILES):
        assert ops.get(f"/config/{subject}").json()["compatibilityLevel"] == "BACKWARD", subject
    assert sales.post(
        f"/subjects/{SCRATCH}/versions",
        json={"schema": json.dumps({"type": "record", "name": "S", "fields": []})},
    ).is_success
    scratch = sales.get(f"/config/{SCRATCH}", params={"defaultToGlobal": "true"}).json()
    assert scratch["compatibilityLevel"] == "NONE"
    # the subject's own level goes only if the global one keeps the floor
    status, code, message = error(sales.delete(f"/config/{ORDERS}"))
    assert (status, code) == (422, 42203)
    assert "cannot become NONE" in message
    breaking = edited(latest(sales, ORDERS), order_id={"type": "long", "doc": "Id."})
    answer = sales.post(f"/subjects/{ORDERS}/versions", json={"schema": breaking})
    assert answer.status_code == 409
    # an admin is held to the contract too, except when restoring history in IMPORT mode
    plain = (ROOT / "schemas/avro/sales/order.avsc").read_text()
    assert error(ops.post(f"/subjects/{ORDERS}/versions", json={"schema": plain}))[1] == 42290
    assert ops.put(f"/mode/{ORDERS}?force=true", json={"mode": "IMPORT"}).status_code == 200
    restored = {"schema": plain, "id": 900, "version": 7}
    assert error(sales.post(f"/subjects/{ORDERS}/versions", json=restored))[1] == 42290
    assert ops.post(f"/subjects/{ORDERS}/versions", json=restored).json() == {"id": 900}
