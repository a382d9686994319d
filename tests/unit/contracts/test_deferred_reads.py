"""Rules give the same verdicts on a record decoded with deferred logical types (converted only
where `RuleEvaluator.reads` says a rule reads) as on fastavro's full decode.

Every corpus of the contract tests is used: the message rules over the orders corpus one by one
and all together, and the CEL_FIELD cases (orders with and without metadata tags, the edge
schema, every shipped product), each rule alone and each case's rules together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streammesh.contracts import RuleEvaluator
from streammesh.serde.deferred import DeferredLogicalTypes
from tests.unit.contracts.conftest import cel_rule
from tests.unit.contracts.corpus import ORDER_SCHEMA, ORDER_SCHEMA_STR, RECORDS, RULES
from tests.unit.contracts.field_corpus import FieldCase, edge_case, order_cases, shipped_cases

ROOT = Path(__file__).resolve().parents[3]
# The cases whose schema has something to defer (the edge schema has no logical types).
CASES = [
    case
    for case in (*order_cases(), edge_case(), *shipped_cases(ROOT))
    if DeferredLogicalTypes.of(str(case.schema.schema_str)) is not None
]


def _payloads(schema: Mapping[str, Any], records: Sequence[object]) -> Iterator[bytes]:
    """Each record that `schema` can write, written."""
    parsed = parse_schema(dict(schema))
    for record in records:
        out = BytesIO()
        try:
            schemaless_writer(out, parsed, record)
        except Exception:  # noqa: BLE001 - off-schema records of the corpora: not on the wire
            continue
        yield out.getvalue()


def _assert_same_verdicts(
    schema: Schema, rules: list[dict[str, object]], records: list[Any]
) -> int:
    """Compares the verdicts both ways; returns how many records were compared."""
    assert schema.schema_str is not None
    declaration = json.loads(schema.schema_str)
    evaluator = RuleEvaluator(rules, "WRITE", schema=schema)
    full_schema = parse_schema(json.loads(schema.schema_str))
    deferred = DeferredLogicalTypes.of(schema.schema_str)
    assert deferred is not None
    restore = deferred.restorer(evaluator.reads)
    full: list[dict[str, object]] = []
    plain: list[dict[str, object]] = []
    for payload in _payloads(declaration, records):
        expected = schemaless_reader(BytesIO(payload), full_schema, None)
        assert isinstance(expected, dict)
        full.append(expected)
        record = schemaless_reader(BytesIO(payload), deferred.plain, None)
        assert isinstance(record, dict)
        assert restore(record)
        plain.append(record)
    assert full
    for expected, record in zip(full, plain, strict=True):
        assert evaluator.evaluate(record) == evaluator.evaluate(expected)
    assert evaluator.evaluate_batch(plain) == evaluator.evaluate_batch(full)
    return len(full)


@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_each_message_rule_gives_the_same_verdicts(rule_name: str) -> None:
    schema = Schema(ORDER_SCHEMA_STR, "AVRO")
    _assert_same_verdicts(schema, [cel_rule(rule_name, RULES[rule_name])], list(RECORDS.values()))


def test_all_message_rules_together_give_the_same_verdicts() -> None:
    rules = [cel_rule(name, expr) for name, expr in RULES.items()]
    _assert_same_verdicts(Schema(ORDER_SCHEMA_STR, "AVRO"), rules, list(RECORDS.values()))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_field_rules_give_the_same_verdicts(case: FieldCase) -> None:
    records = [record for _, record, _ in case.records]
    assert _assert_same_verdicts(case.schema, case.rules, records) > 0
    for rule in case.rules:
        _assert_same_verdicts(case.schema, [rule], records)


# Field rules on the values deferral leaves undecoded unless read: a decimal and a timestamp
# bind as a double and a timestamp, their undecoded bytes and long would give other verdicts.
DEFERRED_FIELD_RULES = [
    cel_rule("price", "fullName == 'shop.LineItem.unit_price' ; value > 0.0", "CEL_FIELD"),
    cel_rule("bytes", "typeName == 'BYTES' ; value >= 0.0", "CEL_FIELD"),
    cel_rule(
        "recent",
        "fullName == 'shop.Order.event_time' ; value > timestamp('2020-01-01T00:00:00Z')",
        "CEL_FIELD",
    ),
]


@pytest.mark.parametrize("rule", DEFERRED_FIELD_RULES, ids=lambda r: str(r["name"]))
def test_field_rules_on_deferred_values_give_the_same_verdicts(rule: dict[str, object]) -> None:
    schema = Schema(ORDER_SCHEMA_STR, "AVRO")
    _assert_same_verdicts(schema, [rule], list(RECORDS.values()))
    _assert_same_verdicts(schema, DEFERRED_FIELD_RULES, list(RECORDS.values()))


def test_the_cases_cover_orders_and_every_shipped_product_with_field_rules() -> None:
    names = {case.name for case in CASES}
    assert {"orders corpus", "orders corpus, metadata tags", "sales/orders"} <= names


def test_reads_names_what_the_orders_rules_bind_and_no_more() -> None:
    rules = [
        cel_rule("amount", "message.amount >= 0.0"),
        cel_rule("items", "size(message.items) > 0"),
        cel_rule(
            "quantity", "fullName == 'shop.LineItem.quantity' ; value > 0", rule_type="CEL_FIELD"
        ),
    ]
    evaluator = RuleEvaluator(rules, "WRITE", schema=ORDER_SCHEMA_STR)
    assert evaluator.reads(("amount",))
    assert evaluator.reads(("items",))  # its size is read: the list itself
    assert not evaluator.reads(("items", "unit_price"))  # only the size, and quantities
    assert not evaluator.reads(("event_time",))
    # A field rule whose body reads the record holding its field may read anything.
    holding = cel_rule(
        "price",
        "fullName == 'shop.LineItem.quantity' ; message.unit_price > 0.0",
        rule_type="CEL_FIELD",
    )
    assert RuleEvaluator([holding], schema=ORDER_SCHEMA_STR).reads(("items", "unit_price"))
    # So may a rule binding the whole record, and a field rule on confluent's own walk.
    assert RuleEvaluator([cel_rule("all", "size(message) > 0")]).reads(("event_time",))
    walked = cel_rule("dynamic", "typeName == 'INT' && value > 5 ; value < 10", "CEL_FIELD")
    assert RuleEvaluator([walked], schema=ORDER_SCHEMA_STR).reads(("items", "unit_price"))


def test_what_no_rule_reads_stays_undecoded() -> None:
    evaluator = RuleEvaluator([cel_rule("amount", "message.amount >= 0.0")])
    deferred = DeferredLogicalTypes.of(ORDER_SCHEMA)
    assert deferred is not None
    (payload,) = _payloads(ORDER_SCHEMA, [RECORDS["valid"]])
    record = schemaless_reader(BytesIO(payload), deferred.plain, None)
    assert isinstance(record, dict)
    assert deferred.restorer(evaluator.reads)(record)
    assert record["amount"] == RECORDS["valid"]["amount"]
    assert all(isinstance(item["unit_price"], bytes) for item in record["items"])
    assert isinstance(record["event_time"], int)
