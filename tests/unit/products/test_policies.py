"""Every governance policy flags a descriptor that breaks it, with a clear message, and nothing
else; the base product and the checked-in example products pass every policy."""

from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from streammesh.products.descriptor import Descriptor
from streammesh.products.loader import SchemaLoader
from streammesh.products.policies import (
    POLICIES,
    Policy,
    Severity,
    Violation,
    check_descriptor,
    describe_policies,
    looks_personal,
)
from tests.unit.products.conftest import (
    BASE,
    VISIT_SCHEMA,
    DescriptorFactory,
    memory_loader,
    merge,
)

TODAY = date(2026, 6, 1)
BASE_PATH = PurePosixPath("domains/shop/products/visits.yaml")
UNDOCUMENTED = VISIT_SCHEMA.replace(', "doc": "The page visited."', "")
WITH_PHONE = VISIT_SCHEMA.replace(
    '"doc": "The page visited."}',
    '"doc": "The page visited."},\n'
    '    {"name": "phone_number", "type": "string", "doc": "A phone."}',
)
NUMBERS = "[" + ",".join(map(str, range(300))) + "]"  # three nested cost ~10^7 steps
DEPRECATED: dict[str, Any] = {
    "status": "deprecated",
    "deprecation": {"sunset": "2026-12-31", "successor": "shop.visits.v2"},
}

# (id, descriptor changes, schema file changes, catalog statuses by ref, path, expected code)
CASES: list[
    tuple[str, dict[str, Any], dict[str, str], dict[str, dict[str, Any]], str | None, str]
] = [
    ("topic name", {"topic": {"name": "shop.visit.v1"}}, {}, {}, None, "naming.topic"),
    (
        "camel name",
        {"name": "Visits", "topic": {"name": "shop.Visits.v1"}},
        {},
        {},
        None,
        "naming.name",
    ),
    ("file outside domain", {}, {}, {}, "domains/web/products/visits.yaml", "naming.file"),
    (
        "schema outside domain",
        {"topic": {"valueSchema": "schemas/avro/web/visit.avsc"}},
        {"schemas/avro/web/visit.avsc": VISIT_SCHEMA},
        {},
        None,
        "naming.schema_file",
    ),
    (
        "contact not reachable",
        {"team": {"contact": "ask around"}},
        {},
        {},
        None,
        "ownership.contact",
    ),
    ("contact blank", {"team": {"contact": " "}}, {}, {}, None, "ownership.contact"),
    ("team blank", {"team": {"name": ""}}, {}, {}, None, "ownership.team"),
    ("no purpose", {"description": {"purpose": " "}}, {}, {}, None, "documentation.purpose"),
    (
        "field without doc",
        {},
        {"schemas/avro/shop/visit.avsc": UNDOCUMENTED},
        {},
        None,
        "documentation.field_doc",
    ),
    (
        "PII tag without classification",
        {"fields": {"customer_email": {"classification": None}}},
        {},
        {},
        None,
        "pii.unclassified",
    ),
    (
        "personal-looking field",
        {},
        {"schemas/avro/shop/visit.avsc": WITH_PHONE},
        {},
        None,
        "pii.unclassified",
    ),
    ("PII kept forever", {"topic": {"retention": "infinite"}}, {}, {}, None, "pii.retention"),
    ("no freshness", {"slos": {"freshness": None}}, {}, {}, None, "slos.missing"),
    ("ratio above one", {"slos": {"completeness": {"ratio": 1.5}}}, {}, {}, None, "slos.ratio"),
    ("ratio zero", {"slos": {"availability": {"ratio": 0}}}, {}, {}, None, "slos.ratio"),
    ("freshness zero", {"slos": {"freshness": {"seconds": 0}}}, {}, {}, None, "slos.freshness"),
    ("empty window", {"slos": {"availability": {"window": "PT0S"}}}, {}, {}, None, "slos.window"),
    (
        "missing schema file",
        {"topic": {"valueSchema": "schemas/avro/shop/nope.avsc"}},
        {},
        {},
        None,
        "schemas.invalid",
    ),
    (
        "invalid Avro",
        {},
        {"schemas/avro/shop/visit.avsc": '{"type": "record"}'},
        {},
        None,
        "schemas.invalid",
    ),
    (
        "value not a record",
        {},
        {"schemas/avro/shop/visit.avsc": '"string"'},
        {},
        None,
        "schemas.not_record",
    ),
    (
        "compacted without key",
        {"topic": {"cleanupPolicy": "compact"}},
        {},
        {},
        None,
        "schemas.key_required",
    ),
    (
        "tag on unknown field",
        {"fields": {"mail": {"classification": "internal"}}},
        {},
        {},
        None,
        "schemas.unknown_field",
    ),
    (
        "rule on unknown field",
        {"quality": [{"name": "x", "field": "pages", "expr": "value.size() > 0"}]},
        {},
        {},
        None,
        "schemas.unknown_field",
    ),
    (
        "duplicate rule names",
        {"quality": [{"name": "x", "expr": "true"}, {"name": "x", "expr": "true"}]},
        {},
        {},
        None,
        "quality.name",
    ),
    (
        "camel rule name",
        {"quality": [{"name": "PageSet", "expr": "true"}]},
        {},
        {},
        None,
        "quality.name",
    ),
    (
        "broken CEL",
        {"quality": [{"name": "x", "expr": "message.page.size( > 0"}]},
        {},
        {},
        None,
        "quality.cel",
    ),
    (
        "broken CEL guard",
        {"quality": [{"name": "x", "tags": ["PII"], "expr": "typeName == ; value.size() > 0"}]},
        {},
        {},
        None,
        "quality.cel",
    ),
    (
        "CEL too expensive",
        {"quality": [{"name": "x", "expr": f"{NUMBERS}.all(a, {NUMBERS}.all(b, a in {NUMBERS}))"}]},
        {},
        {},
        None,
        "quality.cost",
    ),
    (
        "rule on unused tag",
        {"quality": [{"name": "x", "tags": ["FINANCE"], "expr": "value != ''"}]},
        {},
        {},
        None,
        "quality.unknown_tag",
    ),
    ("deprecated without block", {"status": "deprecated"}, {}, {}, None, "lifecycle.deprecation"),
    (
        "sunset in the past",
        merge(DEPRECATED, {"deprecation": {"sunset": "2026-01-31"}}),
        {},
        {"shop.visits.v2": {}},
        None,
        "lifecycle.sunset",
    ),
    (
        "no successor",
        merge(DEPRECATED, {"deprecation": {"successor": None}}),
        {},
        {},
        None,
        "lifecycle.successor",
    ),
    ("unknown successor", DEPRECATED, {}, {}, None, "lifecycle.successor"),
    (
        "active with deprecation",
        {"deprecation": {"sunset": "2026-12-31", "successor": "shop.visits.v2"}},
        {},
        {"shop.visits.v2": {}},
        None,
        "lifecycle.deprecation",
    ),
    (
        "retired input",
        {},
        {},
        {"customers.profiles.v1": {"status": "retired"}},
        None,
        "lifecycle.retired_input",
    ),
    (
        "deprecated input",
        {},
        {},
        {
            "customers.profiles.v1": merge(
                DEPRECATED, {"deprecation": {"successor": "customers.profiles.v2"}}
            )
        },
        None,
        "lifecycle.deprecated_input",
    ),
    ("malformed input", {"inputPorts": ["customers.profiles"]}, {}, {}, None, "input_ports.format"),
    (
        "unknown input",
        {"inputPorts": ["customers.accounts.v1"]},
        {},
        {},
        None,
        "input_ports.unknown",
    ),
    (
        "self input",
        {"inputPorts": ["shop.visits.v1"]},
        {},
        {"shop.visits.v1": {}},
        None,
        "input_ports.self",
    ),
]


def run(
    descriptor: Descriptor,
    files: dict[str, str],
    catalog: dict[str, Descriptor],
    path: PurePosixPath | None = BASE_PATH,
    policies: tuple[Policy, ...] = POLICIES,
) -> list[Violation]:
    return check_descriptor(
        descriptor,
        schema_loader=memory_loader(files),
        known_products=catalog.get,
        path=path,
        today=TODAY,
        policies=policies,
    )


def catalog_of(
    statuses: dict[str, dict[str, Any]], factory: DescriptorFactory
) -> dict[str, Descriptor]:
    """A catalog holding the base's input plus `statuses` (ref -> descriptor changes)."""
    catalog: dict[str, Descriptor] = {}
    for ref, changes in {"customers.profiles.v1": {}, **statuses}.items():
        domain, name, major = ref.split(".")
        topic = {"name": ref}
        catalog[ref] = factory(
            domain=domain, name=name, major=int(major[1:]), topic=topic, **changes
        )
    return catalog


@pytest.mark.parametrize(
    ("changes", "file_changes", "statuses", "path", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_policy_flags_violation(
    descriptor_factory: DescriptorFactory,
    schema_files: dict[str, str],
    changes: dict[str, Any],
    file_changes: dict[str, str],
    statuses: dict[str, dict[str, Any]],
    path: str | None,
    code: str,
) -> None:
    descriptor = descriptor_factory(**changes)
    violations = run(
        descriptor,
        {**schema_files, **file_changes},
        catalog_of(statuses, descriptor_factory),
        PurePosixPath(path) if path else BASE_PATH,
    )
    assert code in [v.code for v in violations], violations
    assert {v.policy for v in violations} == {code.partition(".")[0]}, violations
    assert all(len(v.message) > 20 for v in violations)


def test_every_policy_has_a_violating_case() -> None:
    covered = {case[-1].partition(".")[0] for case in CASES}
    assert covered == {policy.__name__ for policy in POLICIES}


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.__name__)
def test_base_product_passes(
    policy: Policy, descriptor_factory: DescriptorFactory, schema_files: dict[str, str]
) -> None:
    assert (
        run(
            descriptor_factory(),
            schema_files,
            catalog_of({}, descriptor_factory),
            policies=(policy,),
        )
        == []
    )


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.__name__)
def test_example_products_pass(
    policy: Policy, examples: dict[Path, Descriptor], repo_loader: SchemaLoader
) -> None:
    catalog = {d.ref: d for d in examples.values()}
    assert len(examples) == 4
    for path, descriptor in examples.items():
        violations = check_descriptor(
            descriptor,
            schema_loader=repo_loader,
            known_products=catalog.get,
            path=PurePosixPath(path.as_posix()),
            today=TODAY,
            policies=(policy,),
        )
        assert violations == [], (path, violations)


def test_messages_say_what_to_fix(
    descriptor_factory: DescriptorFactory, schema_files: dict[str, str]
) -> None:
    violations = run(
        descriptor_factory(topic={"name": "shop.visit.v1"}),
        schema_files,
        catalog_of({}, descriptor_factory),
    )
    assert [str(v) for v in violations] == [
        "error: [naming.topic] topic 'shop.visit.v1' must be named 'shop.visits.v1'"
    ]


def test_deprecated_input_is_a_warning(
    descriptor_factory: DescriptorFactory, schema_files: dict[str, str]
) -> None:
    statuses = {
        "customers.profiles.v1": merge(
            DEPRECATED, {"deprecation": {"successor": "customers.profiles.v2"}}
        )
    }
    [violation] = run(descriptor_factory(), schema_files, catalog_of(statuses, descriptor_factory))
    assert violation.severity is Severity.WARNING
    assert "customers.profiles.v2" in violation.message


def test_policies_are_listed_with_a_summary() -> None:
    listed = describe_policies()
    assert [name for name, _ in listed] == [p.__name__ for p in POLICIES]
    assert all(summary.endswith(".") and "\n" not in summary for _, summary in listed)


@pytest.mark.parametrize(
    ("name", "personal"),
    [
        ("customer_email", True),
        ("phone_number", True),
        ("full_name", True),
        ("billing_address", True),
        ("birth_date", True),
        ("client_ip", True),
        ("segment_name", False),
        ("shipping_fee", False),
        ("line_items.sku", False),
    ],
)
def test_looks_personal(name: str, personal: bool) -> None:
    assert looks_personal(name) is personal


def test_base_is_valid_as_written() -> None:
    assert Descriptor.model_validate(BASE).ref == "shop.visits.v1"
