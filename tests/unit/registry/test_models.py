"""Bodies keep Confluent's JSON names on the wire (clients read them) while their fields are
snake_case in Python; both spellings are read."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from services.registry.api.config import ConfigUpdate
from services.registry.api.subjects import SchemaRequest
from services.registry.api.ui import UiConfig
from services.registry.catalog.models import (
    DataProductCreate,
    DataProductPublic,
    ImpactReport,
    ImpactRequest,
    StoredProduct,
)
from services.registry.core.records import SchemaValue
from services.registry.models import (
    CompatibilityCheck,
    Config,
    RuleSet,
    SchemaString,
    SchemaVersion,
)

CONFIG = {
    "compatibilityLevel",
    "normalize",
    "compatibilityGroup",
    "defaultMetadata",
    "overrideMetadata",
    "defaultRuleSet",
    "overrideRuleSet",
    "alias",
    "validateFields",
    "validateRules",
}
# Every field's name on the wire, as Confluent's registry (or, for the catalog, our clients)
# spells it; each model's full list, so a field added or renamed shows here.
WIRE_NAMES: list[tuple[type[BaseModel], set[str]]] = [
    (RuleSet, {"migrationRules", "domainRules", "encodingRules"}),
    (
        SchemaString,
        {"schema", "schemaType", "references", "metadata", "ruleSet", "maxId", "guid"},
    ),
    (
        SchemaVersion,
        {
            "subject",
            "version",
            "id",
            "schema",
            "schemaType",
            "references",
            "metadata",
            "ruleSet",
            "guid",
            "ts",
            "deleted",
        },
    ),
    (
        Config,
        CONFIG,
    ),
    (CompatibilityCheck, {"is_compatible", "messages"}),
    (
        ConfigUpdate,
        {"compatibility", *CONFIG},  # older clients send `compatibility`
    ),
    (
        SchemaRequest,
        {"schema", "schemaType", "references", "metadata", "ruleSet", "id", "version"},
    ),
    (
        SchemaValue,
        {
            "subject",
            "version",
            "id",
            "schema",
            "schemaType",
            "references",
            "metadata",
            "ruleSet",
            "deleted",
            "guid",
            "ts",
        },
    ),
    (DataProductCreate, {"descriptor", "valueSchema", "keySchema"}),
    (
        StoredProduct,
        {
            "descriptor",
            "valueSchemaId",
            "valueVersion",
            "keySchemaId",
            "keyVersion",
            "registeredAt",
            "updatedAt",
        },
    ),
    (ImpactRequest, {"schema", "major"}),
    (
        ImpactReport,
        {
            "product",
            "subject",
            "compatible",
            "messages",
            "downstreamProducts",
            "consumerGroups",
            "breaks",
        },
    ),
    (UiConfig, {"monitorUrl"}),
]


@pytest.mark.parametrize(("model", "names"), WIRE_NAMES, ids=lambda v: getattr(v, "__name__", ""))
def test_every_field_has_its_wire_name(model: type[BaseModel], names: set[str]) -> None:
    for mode in ("validation", "serialization"):
        properties = model.model_json_schema(mode=mode)["properties"]
        assert set(properties) == names, mode


def test_public_products_add_their_subjects_to_the_stored_names() -> None:
    stored = set(StoredProduct.model_json_schema()["properties"])
    public = set(DataProductPublic.model_json_schema(mode="serialization")["properties"])
    assert public - stored == {
        "ref",
        "domain",
        "name",
        "major",
        "status",
        "valueSubject",
        "keySubject",
        "downstream",
        "warnings",
    }


def test_dumps_use_the_wire_names_and_both_spellings_are_read() -> None:
    by_name = Config(compatibility_level="FULL", validate_fields=True)
    by_wire = Config.model_validate({"compatibilityLevel": "FULL", "validateFields": True})
    assert by_name == by_wire
    expected = {"compatibilityLevel": "FULL", "validateFields": True}
    assert by_name.model_dump(exclude_none=True) == expected  # no by_alias needed
    assert by_name.model_dump_json(exclude_none=True) == (
        '{"compatibilityLevel":"FULL","validateFields":true}'
    )
    check = CompatibilityCheck(is_compatible=False, messages=["x"])
    assert check.model_dump() == {"is_compatible": False, "messages": ["x"]}
    request = SchemaRequest.model_validate({"schema": "{}", "schemaType": "JSON", "ruleSet": {}})
    assert (request.schema_, request.schema_type, request.rule_set) == ("{}", "JSON", RuleSet())
