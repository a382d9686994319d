"""CEL_FIELD rules, their schemas and records: every shipped product's compiled contract, the
orders corpus of `corpus.py`, and an edge schema with maps, nested arrays and unions."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import Metadata, Schema

from streammesh.products.contract import compile_contract
from streammesh.products.loader import load_descriptor
from tests.unit.contracts.conftest import cel_rule
from tests.unit.contracts.corpus import ORDER_SCHEMA, RECORDS, decoded, order


@dataclass(frozen=True)
class FieldCase:
    """A schema (with its metadata tags), CEL_FIELD rules over it and records to check.

    `reference` is False for records the engines bind differently by design (union tuple
    notation: cel-python keeps the tuple), and for malformed ones confluent's serializer would
    refuse anyway; those are compared between our two paths only."""

    name: str
    schema: Schema
    rules: list[dict[str, object]]
    records: list[tuple[str, dict[str, object], bool]] = field(default_factory=list)


# Values per Avro type: the first is the base record's; the others pass or break the shipped
# rules (ISO codes, emails, counts, quantities) and hit the edges (empty, zero, negative).
_STRINGS = ("EUR", "eur", "", "DE", "DEU", "a@b.de", "a b@c", "c-1001")
_INTS = (3, 0, 1, -1)
_DOUBLES = (2.5, 0.0, -1.5)
_DECIMALS = (Decimal("12.50"), Decimal("0.00"), Decimal("-1.00"))
_TIMESTAMPS = (
    datetime(2025, 3, 14, 15, 9, 26, 535000, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
)


def samples(schema: Any, named: dict[str, Any] | None = None) -> list[Any]:
    """Values for `schema`: a valid base value first, then variants of it."""
    named = {} if named is None else named
    if isinstance(schema, list):
        return [value for branch in schema for value in samples(branch, named)]
    if isinstance(schema, str):
        if schema in named:
            return samples(named[schema], named)
        schema = {"type": schema}
    kind, logical = schema["type"], schema.get("logicalType")
    if isinstance(kind, dict | list):
        return samples(kind, named)
    if kind == "record":
        named[schema["name"]] = schema
        return list(_record_samples(schema, named))
    if kind == "enum":
        named[schema["name"]] = schema
        return list(schema["symbols"])
    if kind == "array":
        items = samples(schema["items"], named)
        return [[items[0]], [], *([items[0], item] for item in items[1:])]
    if kind == "map":
        values = samples(schema["values"], named)
        return [{"a": values[0]}, {}, *({"a": values[0], "b": value} for value in values[1:])]
    table: dict[tuple[str, object], tuple[Any, ...]] = {
        ("null", None): (None,),
        ("boolean", None): (True, False),
        ("string", None): _STRINGS,
        ("int", None): _INTS,
        ("long", None): _INTS,
        ("float", None): _DOUBLES,
        ("double", None): _DOUBLES,
        ("bytes", None): (b"\x01\x02", b""),
        ("bytes", "decimal"): _DECIMALS,
        ("long", "timestamp-millis"): _TIMESTAMPS,
        ("int", "date"): (date(2025, 3, 20),),
    }
    return list(table[(kind, logical)])


def _record_samples(schema: dict[str, Any], named: dict[str, Any]) -> Iterator[dict[str, Any]]:
    options = {f["name"]: samples(f["type"], named) for f in schema["fields"]}
    base = {name: values[0] for name, values in options.items()}
    yield base
    for name, values in options.items():
        for value in values[1:]:
            yield {**base, name: value}


def _with_decoded(schema: dict[str, Any], records: list[dict[str, Any]], prefix: str) -> list[Any]:
    return [(f"{prefix}{n}", r, True) for n, r in enumerate(records)] + [
        (f"{prefix}{n} (decoded)", decoded(r, schema), True) for n, r in enumerate(records)
    ]


def shipped_cases(root: Path) -> list[FieldCase]:
    """Every product under `domains/`, compiled as the catalog registers it, with records built
    from its own schema; products without field rules are left out."""
    cases = []
    for path in sorted(root.glob("domains/*/products/*.yaml")):
        descriptor = load_descriptor(path)
        text = (root / descriptor.topic.value_schema).read_text(encoding="utf-8")
        contract = compile_contract(descriptor, text)
        rules: list[dict[str, object]] = [dict(r) for r in contract.rule_set["domainRules"]]
        if not any(r["type"] == "CEL_FIELD" for r in rules):
            continue
        declaration = json.loads(contract.schema)
        schema = Schema(
            contract.schema, "AVRO", metadata=Metadata.from_dict(dict(contract.metadata))
        )
        records = _with_decoded(declaration, samples(declaration), "")
        cases.append(FieldCase(f"{path.parent.parent.name}/{path.stem}", schema, rules, records))
    return cases


def _field(name: str, expr: str, **fields: object) -> dict[str, object]:
    return cel_rule(name, expr, "CEL_FIELD", **fields)


# Over corpus.ORDER_SCHEMA (namespace shop): guards by full name as products compile them, by
# name, type and tags, none at all, and ones that read the record (kept on confluent's walk).
ORDER_FIELD_RULES: list[dict[str, object]] = [
    _field("quantity", "fullName == 'shop.LineItem.quantity' ; value > 0"),
    _field("quantity_cap", "fullName == 'shop.LineItem.quantity' ; value < 100", onFailure="DLQ"),
    _field("currency", "fullName == 'shop.Order.currency' ; value.matches('^[A-Z]{3}$')"),
    _field("coupon", "fullName == 'shop.Order.coupon' ; value == null || size(value) >= 4"),
    _field("address", "fullName == 'shop.Shipping.address' ; value != null"),
    _field("tag_items", "fullName == 'shop.Order.tags' ; value.size() > 0"),
    _field("sku_compared", "fullName == 'shop.LineItem.sku' && name == 'sku' ; value > 0"),
    _field("priority_size", "fullName == 'shop.Order.priority' ; value.size() > 0"),
    _field("currency_itself", "fullName == 'shop.Order.currency' ; value"),
    _field("by_name", "name == 'quantity' || name == 'weight' ; value < 1000"),
    _field("strings", "typeName == 'STRING' ; value.size() > 0"),
    _field("nulls", "typeName == 'NULL' ; false"),
    _field("not_null", "value != null"),
    _field("everything_false", "false"),
    _field("no_field", "fullName == 'shop.Order.missing' ; false"),
    _field("pii_compact", "!value.contains(' ')", tags=["PII"]),
    _field("pii_strings", "typeName == 'STRING' ; value.size() >= 6", tags=["PII"]),
    _field("pii_by_guard", "'PII' in tags ; value.size() > 3"),
    _field("untagged", "true", tags=["NOT_THERE"]),
    _field("statics", "name == 'email' ; fullName.startsWith('shop.') && 'PII' in tags"),
    _field("type_in_body", "typeName == 'INT' || typeName == 'DOUBLE' ; typeName != 'INT'"),
    _field("with_message", "fullName == 'shop.LineItem.quantity' ; value <= message.quantity"),
    _field("sku_in_message", "name == 'currency' ; message.order_id.startsWith('o-')"),
    _field("comment", "fullName == 'shop.Order.currency' ; value != '' // a comment"),
    _field(
        "now_body", "fullName == 'shop.Order.priority' ; now > timestamp('2020-01-01T00:00:00Z')"
    ),
    # Guards reading the record: no plan, confluent's walk.
    _field("dynamic_value", "typeName == 'INT' && value > 5 ; value < 10"),
    _field("dynamic_message", "message.currency == 'EUR' ; value != ''"),
    _field("broken_guard", "fullName.missing_function() ; true"),
]
SLOW_ORDER_RULES = ("dynamic_value", "dynamic_message", "broken_guard")
CONTACT_TAGS = {"shop.*.email": ["CONTACT"], "shop.Order.c*": ["C"], "**.sku": ["SKU"]}
ORDER_TAGGED_RULES: list[dict[str, object]] = [
    _field("contact", "value.contains('@')", tags=["CONTACT"]),
    _field("c_fields", "typeName == 'STRING' ; value.size() > 3", tags=["C"]),
    _field("skus", "value.matches('^[A-Z]{3}-[0-9]{4}$')", tags=["SKU", "PII"]),
]


# Union tuple notation and values off the schema: our two paths only.
ORDER_OFF_SCHEMA: dict[str, dict[str, object]] = {
    "tuple-coupon": order(coupon=("string", "SPRING25"), gift=True),
    "tuple-coupon-false": order(coupon=("string", False), gift=True),
    "tuple-null-coupon": order(coupon=("null", None), gift=True),
    "false-coupon": order(coupon=False, gift=True),
    "false-shipping": order(shipping=False, gift=True),
}


def order_cases() -> list[FieldCase]:
    records = [(name, record, True) for name, record in RECORDS.items()]
    records += [(name, record, False) for name, record in ORDER_OFF_SCHEMA.items()]
    plain = Schema(json.dumps(ORDER_SCHEMA), "AVRO")
    tagged = Schema(
        json.dumps(ORDER_SCHEMA), "AVRO", metadata=Metadata.from_dict({"tags": CONTACT_TAGS})
    )
    return [
        FieldCase("orders corpus", plain, ORDER_FIELD_RULES, records),
        FieldCase("orders corpus, metadata tags", tagged, ORDER_TAGGED_RULES, records),
    ]


_CHILD = {
    "type": "record",
    "name": "Child",
    "fields": [{"name": "name", "type": "string"}, {"name": "score", "type": "int"}],
}
EDGE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Edge",
    "namespace": "edge",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "flag", "type": "boolean"},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["big", "small"]}},
        {"name": "maybe_flag", "type": ["null", "boolean"]},
        {"name": "counts", "type": {"type": "map", "values": "int"}},
        {"name": "children", "type": {"type": "map", "values": _CHILD}},
        {"name": "matrix", "type": {"type": "array", "items": {"type": "array", "items": "int"}}},
        {"name": "choice", "type": ["null", "Child", "string"]},
        {
            "name": "groups",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Group",
                    "fields": [
                        {"name": "label", "type": ["null", "string"]},
                        {"name": "members", "type": {"type": "array", "items": "Child"}},
                    ],
                },
            },
        },
    ],
}
EDGE_RULES: list[dict[str, object]] = [
    _field("score", "fullName == 'edge.Child.score' ; value >= 0"),
    _field("counts", "fullName == 'edge.Edge.counts' ; value > 0"),
    _field("counts_error", "fullName == 'edge.Edge.counts' ; value.size() > 0"),
    _field("matrix", "fullName == 'edge.Edge.matrix' ; value < 100"),
    _field("booleans", "typeName == 'BOOLEAN' ; value"),
    _field("nulls", "typeName == 'NULL' ; false"),
    _field("label", "fullName == 'edge.Group.label' ; value == null || value.size() > 0"),
    _field("child_name", "name == 'name' ; value.startsWith('c')"),
    _field("child_name_error", "fullName == 'edge.Child.name' ; value > 0"),
    _field("choice", "fullName == 'edge.Edge.choice' ; value.size() > 1"),
    _field("untagged", "true", tags=["NOT_THERE"]),
]


def _child(name: str = "cat", score: int = 1) -> dict[str, object]:
    return {"name": name, "score": score}


def edge(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": "e-1",
        "flag": True,
        "kind": "big",
        "maybe_flag": None,
        "counts": {"a": 1, "b": 2},
        "children": {"x": _child(), "y": _child("cow", 2)},
        "matrix": [[1, 2], [], [3]],
        "choice": None,
        "groups": [{"label": "g", "members": [_child(), _child("calf", 0)]}],
    }
    record.update(changes)
    return record


EDGE_RECORDS: dict[str, dict[str, object]] = {
    "valid": edge(),
    "false-flag": edge(flag=False),
    "maybe-true": edge(maybe_flag=True),
    "maybe-false": edge(maybe_flag=False),
    "zero-count": edge(counts={"a": 0}),
    "no-counts": edge(counts={}),
    "negative-child": edge(children={"x": _child(score=-1)}),
    "dog-child": edge(children={"x": _child("dog")}),
    "no-children": edge(children={}),
    "big-cell": edge(matrix=[[1], [200]]),
    "empty-matrix": edge(matrix=[]),
    "empty-rows": edge(matrix=[[], []]),
    "choice-child": edge(choice=_child("colt", 5)),
    "choice-negative-child": edge(choice=_child("colt", -5)),
    "choice-string": edge(choice="s"),
    "choice-long-string": edge(choice="long"),
    "no-groups": edge(groups=[]),
    "empty-members": edge(groups=[{"label": None, "members": []}]),
    "empty-label": edge(groups=[{"label": "", "members": [_child()]}]),
    "negative-member": edge(groups=[{"label": "g", "members": [_child(), _child(score=-2)]}]),
    "many-groups": edge(
        groups=[
            {"label": None, "members": [_child("dog", -1)]},
            {"label": "h", "members": [_child(), _child(), _child("eel")]},
        ]
    ),
}
# Union tuple notation, typed dicts and values off the schema: our two paths only.
EDGE_OFF_SCHEMA: dict[str, dict[str, object]] = {
    "tuple-false": edge(maybe_flag=("boolean", False)),
    "tuple-true": edge(maybe_flag=("boolean", True)),
    "tuple-child": edge(choice=("edge.Child", _child("dog", -1))),
    "tuple-unknown": edge(choice=("edge.Nothing", "x")),
    "tuple-string-false": edge(choice=("string", False)),
    "tuple-boolean-false": edge(maybe_flag=("boolean", False), choice=("string", "s")),
    "typed-child": edge(choice={"-type": "edge.Child", "name": "dog", "score": -1}),
    "int-maybe-flag": edge(maybe_flag=3),
    "false-choice": edge(choice=False),
    "false-kind": edge(kind=False),
    "false-matrix": edge(matrix=False),
    "false-children": edge(children=False),
    "false-cell": edge(matrix=[[False]]),
    "none-matrix": edge(matrix=None),
    "string-children": edge(children="oops"),
    "none-group": edge(groups=[None, {"label": None}]),
    "false-group": edge(groups=[False]),
    "missing-fields": {"id": "e-2", "flag": False},
    "huge-count": edge(counts={"a": 2**70}),
}


def edge_case() -> FieldCase:
    records = [(name, r, True) for name, r in EDGE_RECORDS.items()]
    records += [
        (f"{name} (decoded)", decoded(r, EDGE_SCHEMA), True) for name, r in EDGE_RECORDS.items()
    ]
    records += [(name, r, False) for name, r in EDGE_OFF_SCHEMA.items()]
    return FieldCase("edge", Schema(json.dumps(EDGE_SCHEMA), "AVRO"), EDGE_RULES, records)
