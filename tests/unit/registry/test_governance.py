"""A data product's subjects are governed on every path that writes them: the compatibility
floor holds for everyone, a schema registered through ``/subjects`` passes the same policies as
through ``PUT /products`` and keeps the compiled contract, and deletes and modes are an
admin's until the product is retired."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.registry.catalog.governance import Governance, below_floor
from services.registry.catalog.models import DataProductCreate
from services.registry.catalog.service import Catalog
from services.registry.core.registry import Registry
from services.registry.errors import (
    CompatibilityFloorError,
    ForbiddenError,
    IncompatibleSchemaError,
    OperationNotPermittedError,
    PolicyViolationError,
    RegistryError,
)
from services.registry.models import Config, Metadata, Rule, RuleSet
from streammesh.products.contract import compile_contract
from streammesh.products.descriptor import Descriptor
from tests.unit.products.conftest import BASE, KEY_SCHEMA, VISIT_SCHEMA, merge

from .samples import in_memory_catalog, record, run

VALUE, KEY = "shop.visits.v1-value", "shop.visits.v1-key"
OTHER = "shop.scratch.v1-value"  # the same domain's, but no product's
PLAIN = record("Scratch", {"name": "a", "type": "string"})


def descriptor(**changes: Any) -> Descriptor:
    # No input ports: the catalog under test holds this product only.
    key = {"topic": {"keySchema": "schemas/avro/shop/visit_key.avsc"}}
    return Descriptor.model_validate(merge(merge(BASE, {"inputPorts": [], **key}), changes))


def visit(*extra: dict[str, Any], drop_doc: str = "", page_type: str = "string") -> str:
    """The product's value schema as a producer holds it (no tags), with ``extra`` fields."""
    schema = json.loads(VISIT_SCHEMA)
    for field in schema["fields"]:
        if field["name"] == drop_doc:
            del field["doc"]
        if field["name"] == "page":
            field["type"] = page_type
    schema["fields"] += list(extra)
    return json.dumps(schema)


def tagged(schema: str) -> str:
    """``schema`` carrying the tags the product's descriptor gives its fields."""
    return compile_contract(descriptor(), schema).schema


def body(value: str, **changes: Any) -> DataProductCreate:
    return DataProductCreate(
        descriptor=descriptor(**changes), value_schema=value, key_schema=KEY_SCHEMA
    )


@pytest.fixture
def catalog(registry: Registry) -> Catalog:
    catalog = in_memory_catalog(registry)
    run(catalog.upsert("shop", "visits", body(VISIT_SCHEMA)))
    run(registry.register(OTHER, PLAIN))
    return catalog


@pytest.fixture
def governance(catalog: Catalog) -> Governance:
    return catalog.governance


def refused(error: type[RegistryError], call: Any) -> RegistryError:
    with pytest.raises(error) as raised:
        run(call)
    return raised.value


# --- which subjects


def test_a_products_subjects_are_governed_until_it_is_retired(
    catalog: Catalog, governance: Governance
) -> None:
    assert governance.product_of(VALUE) is not None
    assert governance.product_of(KEY) is not None
    for other in (OTHER, "shop.visits.v1", "shop.visits.v1-other", "shop.visits.v2-value"):
        assert governance.product_of(other) is None, other
    run(catalog.upsert("shop", "visits", body(VISIT_SCHEMA, status="retired")))
    assert governance.product_of(VALUE) is None


# --- the floor


@pytest.mark.parametrize(
    ("global_level", "own_level", "below"),
    [
        (None, None, None),  # Confluent's default, BACKWARD
        ("NONE", None, "NONE"),
        ("NONE", "full", None),
        ("BACKWARD", "forward_transitive", "FORWARD_TRANSITIVE"),
        ("FULL_TRANSITIVE", "BACKWARD_TRANSITIVE", None),
        ("NONE", "BOGUS", None),  # not a level: the registry refuses it as invalid
    ],
)
def test_below_floor_is_the_level_in_force_when_weaker_than_backward(
    global_level: str | None, own_level: str | None, below: str | None
) -> None:
    configs = [
        None if level is None else Config(compatibility_level=level)
        for level in (global_level, own_level)
    ]
    assert below_floor(*configs) == below


def test_no_one_sets_a_product_subject_below_the_floor(
    registry: Registry, governance: Governance
) -> None:
    for level in ("NONE", "forward", "FORWARD_TRANSITIVE"):
        error = refused(
            CompatibilityFloorError,
            governance.set_config(VALUE, Config(compatibility_level=level)),
        )
        assert (error.http_status, error.error_code) == (422, 42203)
        assert f"'{VALUE}' belongs to data product 'shop.visits.v1'" in error.message
        assert f"cannot become {level.upper()}, below the floor BACKWARD" in error.message
    assert registry.effective_config(VALUE).compatibility_level == "BACKWARD"
    run(governance.set_config(VALUE, Config(compatibility_level="FULL")))
    run(governance.set_config(OTHER, Config(compatibility_level="NONE")))  # no product's
    assert registry.effective_config(VALUE).compatibility_level == "FULL"
    assert registry.effective_config(OTHER).compatibility_level == "NONE"


def test_a_global_level_below_the_floor_holds_product_subjects_at_it(
    registry: Registry, governance: Governance
) -> None:
    run(governance.set_config(None, Config(compatibility_level="NONE")))
    assert registry.get_config(None).compatibility_level == "NONE"
    assert registry.effective_config(OTHER).compatibility_level == "NONE"
    for subject in (VALUE, KEY):
        assert registry.get_config(subject).compatibility_level == "BACKWARD", subject


def test_a_subject_config_is_deleted_only_if_the_global_level_keeps_the_floor(
    registry: Registry, governance: Governance
) -> None:
    run(governance.set_config(VALUE, Config(compatibility_level="FULL")))
    run(governance.set_config(None, Config(compatibility_level="NONE")))
    error = refused(CompatibilityFloorError, governance.delete_config(VALUE))
    assert "cannot become NONE" in error.message
    assert registry.get_config(VALUE).compatibility_level == "FULL"
    run(governance.set_config(None, Config(compatibility_level="FULL")))
    assert run(governance.delete_config(VALUE)).compatibility_level == "FULL"
    run(governance.delete_config(None))  # back to BACKWARD, which keeps the floor


def test_a_registration_is_checked_at_the_floor_whatever_the_config_says(
    registry: Registry, governance: Governance
) -> None:
    # A product subject left below the floor before these checks (straight through the core).
    run(registry.set_config(VALUE, Config(compatibility_level="NONE")))
    page_as_int = tagged(visit(page_type="int"))
    error = refused(IncompatibleSchemaError, governance.register(VALUE, page_as_int, admin=False))
    assert error.http_status == 409
    assert registry.get_config(VALUE).compatibility_level == "BACKWARD"


# --- the contract


def test_a_schema_without_docs_is_refused_as_put_products_refuses_it(
    catalog: Catalog, governance: Governance
) -> None:
    schema = tagged(visit(drop_doc="page"))
    through_subjects = refused(
        PolicyViolationError, governance.register(VALUE, schema, admin=False)
    )
    through_products = refused(PolicyViolationError, catalog.upsert("shop", "visits", body(schema)))
    assert (through_subjects.http_status, through_subjects.error_code) == (422, 42290)
    assert isinstance(through_subjects, PolicyViolationError)
    assert isinstance(through_products, PolicyViolationError)
    assert through_subjects.violations == through_products.violations
    assert through_subjects.message == through_products.message
    assert "[documentation.field_doc] field 'page'" in through_subjects.message


def test_an_unclassified_personal_field_is_refused_as_put_products_refuses_it(
    catalog: Catalog, governance: Governance
) -> None:
    phone = {"name": "phone", "type": ["null", "string"], "default": None, "doc": "A phone."}
    schema = tagged(visit(phone))
    through_subjects = refused(
        PolicyViolationError, governance.register(VALUE, schema, admin=False)
    )
    through_products = refused(PolicyViolationError, catalog.upsert("shop", "visits", body(schema)))
    assert isinstance(through_subjects, PolicyViolationError)
    assert isinstance(through_products, PolicyViolationError)
    assert through_subjects.violations == through_products.violations
    assert "[pii.unclassified] field 'phone'" in through_subjects.message


def test_a_schema_that_drops_the_fields_tags_is_refused(governance: Governance) -> None:
    error = refused(PolicyViolationError, governance.register(VALUE, visit(), admin=False))
    assert error.error_code == 42290
    assert "[contract.tags] field 'customer_email' must keep its tags CONFIDENTIAL, PII" in (
        error.message
    )


def test_dropped_or_changed_rules_and_metadata_are_refused(
    registry: Registry, governance: Governance
) -> None:
    schema = tagged(visit())
    no_rules = refused(
        PolicyViolationError,
        governance.register(VALUE, schema, admin=False, rule_set=RuleSet(domain_rules=[])),
    )
    assert "[contract.rules] quality rule 'page_not_blank' must stay" in no_rules.message
    assert "[contract.rules] quality rule 'customer_set' must stay" in no_rules.message
    latest = registry.get_version(VALUE, "latest").rule_set
    assert latest is not None
    assert latest.domain_rules is not None
    disabled = [
        Rule.model_validate({**rule.model_dump(by_alias=True), "disabled": True})
        for rule in latest.domain_rules
    ]
    changed = refused(
        PolicyViolationError,
        governance.register(VALUE, schema, admin=False, rule_set=RuleSet(domain_rules=disabled)),
    )
    assert "'page_not_blank' must stay as the descriptor compiles it (disabled changed)" in (
        changed.message
    )
    bare = refused(
        PolicyViolationError,
        governance.register(
            VALUE, schema, admin=False, metadata=Metadata(tags={}, properties={}, sensitive=[])
        ),
    )
    assert (
        "[contract.tags] metadata.tags must keep CONFIDENTIAL, PII on 'shop.Visit.customer_email'"
        in bare.message
    )
    assert "[contract.sensitive] metadata.sensitive must keep 'owner.contact'" in bare.message
    assert registry.list_versions(VALUE) == [1]


def test_a_schema_keeping_the_contract_is_registered_with_its_rules(
    registry: Registry, governance: Governance
) -> None:
    referrer = {"name": "referrer", "type": ["null", "string"], "default": None, "doc": "From."}
    schema = tagged(visit(referrer))
    registered = run(governance.register(VALUE, schema, admin=False))
    latest = registry.get_version(VALUE, "latest")
    assert (latest.id, latest.version) == (registered.id, 2)
    assert latest.rule_set == registry.get_version(VALUE, 1).rule_set  # carried over
    # a key's schema passes the policies too, beside the value's registered schema
    undocumented = record("VisitKey", {"name": "id", "type": "string"})
    error = refused(PolicyViolationError, governance.register(KEY, undocumented, admin=False))
    assert error.message.endswith(
        "[documentation.field_doc] field 'id' in schemas/avro/shop/visit_key.avsc has no doc"
    )


def test_other_subjects_and_retired_products_are_plain_confluent(
    catalog: Catalog, registry: Registry, governance: Governance
) -> None:
    run(governance.set_config(OTHER, Config(compatibility_level="NONE")))
    run(governance.register(OTHER, record("Scratch", {"name": "b", "type": "int"}), admin=False))
    run(catalog.upsert("shop", "visits", body(VISIT_SCHEMA, status="retired")))
    run(governance.set_config(VALUE, Config(compatibility_level="NONE")))
    run(governance.register(VALUE, PLAIN, admin=False))
    assert run(governance.delete_subject(VALUE, False, admin=False)) == [1, 2, 3]


def test_an_admin_restoring_history_in_import_mode_skips_the_contract(
    registry: Registry, governance: Governance
) -> None:
    run(governance.set_mode(VALUE, "IMPORT", True, admin=True))
    older = visit()  # as an earlier descriptor had it: no tags yet
    refused(PolicyViolationError, governance.register(VALUE, older, admin=False, id=90, version=5))
    assert run(governance.register(VALUE, older, admin=True, id=90, version=5)).id == 90


# --- deletes and modes


def test_an_owner_deletes_a_products_versions_only_once_it_is_retired(
    catalog: Catalog, registry: Registry, governance: Governance
) -> None:
    for call in (
        governance.delete_version(VALUE, "latest", False, admin=False),
        governance.delete_subject(VALUE, False, admin=False),
    ):
        error = refused(OperationNotPermittedError, call)
        assert (error.http_status, error.error_code) == (422, 42205)
        assert "which is active" in error.message
        assert "POST /products/shop/visits/retire" in error.message
    assert run(governance.delete_version(KEY, 1, False, admin=True)) == 1
    assert run(governance.delete_subject(OTHER, False, admin=False)) == [1]
    assert registry.list_versions(VALUE) == [1]


def test_a_product_subjects_mode_is_an_admins(registry: Registry, governance: Governance) -> None:
    for mode in ("READONLY", "readwrite", "IMPORT"):
        error = refused(ForbiddenError, governance.set_mode(VALUE, mode, False, admin=False))
        assert (error.http_status, error.error_code) == (403, 40301)
    refused(ForbiddenError, governance.delete_mode(VALUE, admin=False))
    # IMPORT lets a writer choose ids: an admin's on every subject
    refused(ForbiddenError, governance.set_mode(OTHER, "import", True, admin=False))
    run(governance.set_mode(OTHER, "READONLY", False, admin=False))
    run(governance.set_mode(VALUE, "READONLY", False, admin=True))
    assert registry.effective_mode(VALUE) == "READONLY"


def test_overrides_that_would_rewrite_the_contract_are_refused(governance: Governance) -> None:
    for config in (
        Config(override_rule_set=RuleSet(domain_rules=[])),
        Config(override_metadata=Metadata(tags={})),
    ):
        error = refused(PolicyViolationError, governance.set_config(VALUE, config))
        assert "[contract.override]" in error.message
    run(governance.set_config(OTHER, Config(override_rule_set=RuleSet(domain_rules=[]))))
