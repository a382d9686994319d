"""CEL_FIELD rules resolved against the schema, and rules checked together in one evaluation,
give every record exactly the verdict of each rule on its own on confluent's field walk: under
its cel-python `CelFieldExecutor`, and under our evaluator with `optimize=False` (the slow path),
down to the violation and its message.

Cases: every shipped product's compiled contract with records built from its schema (valid and
breaking each field rule, empty arrays, nulls, as written and as read back), the orders corpus
with rules guarded by full name, name, type and tags (inline and wildcard metadata tags) beside
its message rules, and an edge schema with maps, nested arrays and unions of records.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Rule, RuleMode
from confluent_kafka.schema_registry.common.avro import (
    get_inline_tags,
    parse_schema_with_repo,
    transform,
)
from confluent_kafka.schema_registry.serde import FieldTransform, RuleContext, RuleExecutor
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro.schema import expand_schema

from streammesh.contracts import RuleEvaluator
from tests.unit.contracts.conftest import CONFLUENT_CEL_FIELD, cel_rule
from tests.unit.contracts.corpus import RULES, order
from tests.unit.contracts.field_corpus import (
    SLOW_ORDER_RULES,
    FieldCase,
    edge_case,
    order_cases,
    shipped_cases,
)

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = shipped_cases(ROOT)
ORDERS, _ = order_cases()
# The corpus' message rules, and ones whose guard or result the fused check must not mask.
MESSAGE_RULES = [cel_rule(name, expr) for name, expr in RULES.items()] + [
    cel_rule("guard_error", "message.nope == 1 ; true"),
    cel_rule("guard_false_body_error", "message.currency == 'XXX' ; message.nope > 0"),
    cel_rule("truthy_string", "message.currency"),
    cel_rule("commented", "message.weight >= 0.0 // not negative"),
]
VALID_PASSES = [r for r in MESSAGE_RULES if not RuleEvaluator([r]).evaluate(order(gift=True))]
MIXED = [
    FieldCase(
        "orders corpus, every rule", ORDERS.schema, MESSAGE_RULES + ORDERS.rules, ORDERS.records
    ),
    FieldCase(
        "orders corpus, rules a valid order passes",
        ORDERS.schema,
        [
            *VALID_PASSES,
            *(r for r in ORDERS.rules if r["name"] in ("quantity", "currency", "strings")),
        ],
        ORDERS.records,
    ),
]
CASES = {case.name: case for case in [*SHIPPED, *order_cases(), edge_case(), *MIXED]}
SER_CTX = SerializationContext("topic", MessageField.VALUE)


def field_rules(case: FieldCase) -> list[dict[str, object]]:
    return [rule for rule in case.rules if rule["type"] == "CEL_FIELD"]


def reference(case: FieldCase, rule: dict[str, object]) -> Callable[[dict[str, Any]], bool]:
    """Whether confluent's serde lets a record through one rule, under its cel-python executor:
    the context and field transformer its AvroSerializer builds, a CONDITION failing on a
    falsy result or any exception."""
    assert case.schema.schema_str is not None
    parsed = parse_schema_with_repo(case.schema.schema_str, {})
    expanded = expand_schema(parsed)
    executor: RuleExecutor = CONFLUENT_CEL_FIELD()
    confluent_rule = Rule.from_dict(rule)
    inline_tags = get_inline_tags(parsed)

    def field_transformer(ctx: RuleContext, field_transform: FieldTransform, message: Any) -> Any:
        return transform(ctx, expanded, message, field_transform)

    def passes(record: dict[str, Any]) -> bool:
        ctx = RuleContext(
            None, SER_CTX, None, case.schema, "topic-value", RuleMode.WRITE, confluent_rule, 0,
            [confluent_rule], inline_tags, field_transformer,
        )  # fmt: skip
        try:
            return bool(executor.transform(ctx, record))
        except Exception:  # noqa: BLE001 - confluent's serde fails the rule on any exception
            return False

    return passes


@pytest.mark.parametrize("case_name", sorted(CASES))
def test_resolved_rules_give_the_walks_violations(case_name: str) -> None:
    """Same violations, messages included, as today's evaluation on confluent's walk."""
    case = CASES[case_name]
    fast = RuleEvaluator(case.rules, schema=case.schema)
    slow = RuleEvaluator(case.rules, schema=case.schema, optimize=False)
    mismatches = [
        f"{sample}: resolved {fast_result}, walk {slow_result}"
        for sample, record, _ in case.records
        if (fast_result := fast.evaluate(record)) != (slow_result := slow.evaluate(record))
    ]
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("case_name", sorted(CASES))
def test_each_rule_checked_with_another_gives_its_own_violations(case_name: str) -> None:
    """Each rule beside one that always passes, so the fused check holds just the two and the
    rule alone decides whether it clears a record: as many pass as fail."""
    case = CASES[case_name]
    anchor = cel_rule("anchor", "true")
    mismatches = []
    for rule in case.rules:
        fast = RuleEvaluator([anchor, rule], schema=case.schema)
        slow = RuleEvaluator([anchor, rule], schema=case.schema, optimize=False)
        mismatches += [
            f"{rule['name']} on {sample}: fused {fast_result}, one by one {slow_result}"
            for sample, record, _ in case.records
            if (fast_result := fast.evaluate(record)) != (slow_result := slow.evaluate(record))
        ]
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize(
    ("case_name", "rule_name"),
    [(case.name, rule["name"]) for case in CASES.values() for rule in field_rules(case)],
)
def test_resolved_rules_agree_with_confluents_executor(case_name: str, rule_name: str) -> None:
    case = CASES[case_name]
    rule = next(r for r in case.rules if r["name"] == rule_name)
    passes = reference(case, rule)
    fast = RuleEvaluator([rule], schema=case.schema)
    mismatches = [
        f"{sample}: cel-python {theirs}, resolved {ours}"
        for sample, record, comparable in case.records
        if comparable and (theirs := passes(record)) != (ours := not fast.evaluate(record))
    ]
    assert not mismatches, "\n".join(mismatches)


def test_every_shipped_field_rule_is_resolved_and_both_passes_and_fails() -> None:
    """The differential means something only if each rule is on the fast path and its records
    separate."""
    assert {case.name for case in SHIPPED} >= {"sales/orders", "customers/profiles"}
    for case in SHIPPED:
        evaluator = RuleEvaluator(case.rules, schema=case.schema)
        assert evaluator.slow_field_rules == (), case.name
        for rule in field_rules(case):
            single = RuleEvaluator([rule], schema=case.schema)
            verdicts = {not single.evaluate(record) for _, record, _ in case.records}
            assert verdicts == {True, False}, (case.name, rule["name"])


def test_only_guards_that_read_the_record_keep_confluents_walk() -> None:
    case = CASES["orders corpus"]

    evaluator = RuleEvaluator(case.rules, schema=case.schema)

    assert evaluator.slow_field_rules == SLOW_ORDER_RULES
    assert RuleEvaluator(case.rules, schema=case.schema, optimize=False).slow_field_rules


def test_a_passing_record_is_cleared_by_one_check_of_the_rules_that_share_it() -> None:
    case = CASES["orders corpus, rules a valid order passes"]
    evaluator = RuleEvaluator(case.rules, schema=case.schema)

    fused = evaluator.fused_rules

    assert {"amount_positive", "items_quantity", "refund_guard", "quantity", "currency"} <= set(
        fused
    )
    assert "event_not_future" not in fused  # reads `now`, fresh per evaluation
    assert evaluator.evaluate(order(gift=True)) == ()
    assert [v.rule_name for v in evaluator.evaluate(order(gift=True, currency="eur"))] == [
        "currency_iso",
        "currency_known",
        "whole_message",
        "currency",
    ]
    assert RuleEvaluator(case.rules, schema=case.schema, optimize=False).fused_rules == ()


@pytest.mark.parametrize("case_name", sorted(CASES))
def test_a_batch_gets_each_records_own_violations(case_name: str) -> None:
    """One evaluation for the batch, memoized bodies: the same violations as record by record,
    with the memos cold and then warm, each record alone and in order or reversed."""
    case = CASES[case_name]
    records = [record for _, record, _ in case.records]
    evaluator = RuleEvaluator(case.rules, schema=case.schema)
    expected = [RuleEvaluator(case.rules, schema=case.schema).evaluate(r) for r in records]

    assert evaluator.evaluate_batch(records) == expected
    assert evaluator.evaluate_batch(records) == expected
    assert evaluator.evaluate_batch(records[::-1]) == expected[::-1]
    assert [evaluator.evaluate_batch([r])[0] for r in records] == expected


def test_a_memoized_field_rule_still_fails_the_bad_value() -> None:
    """The currency rule runs once per distinct value; a value that failed keeps failing and
    values equal in Python but not in CEL (1, 1.0, True) are told apart."""
    case = CASES["orders corpus, rules a valid order passes"]
    evaluator = RuleEvaluator(case.rules, schema=case.schema)
    good, bad = order(gift=True), order(gift=True, currency="eur")
    expected_bad = RuleEvaluator(case.rules, schema=case.schema).evaluate(bad)
    assert [v.rule_name for v in expected_bad] == [
        "currency_iso",
        "currency_known",
        "whole_message",
        "currency",
    ]

    for batch in ([good] * 50, [good, bad] * 50, [bad] * 3, [good] * 3):
        results = evaluator.evaluate_batch(batch)
        assert results == [() if r is good else expected_bad for r in batch]

    value = RuleEvaluator(
        [cel_rule("anchor", "true"), cel_rule("typed", "type(value) == int", "CEL_FIELD")],
        schema='{"type": "record", "name": "R", "fields": [{"name": "n", "type": "double"}]}',
    )
    assert value.fused_rules == ("anchor", "typed")
    values: list[object] = [1, 1.0, True, 1, None, 1.0, -0.0, 0.0, float("nan"), 0, False]
    verdicts = [not value.evaluate({"n": n}) for n in values]
    assert verdicts == [True, False, False, True, False, False, False, False, False, True, False]
    assert [not v for v in value.evaluate_batch([{"n": n} for n in values])] == verdicts
    assert [not v for v in value.evaluate_batch([{"n": n} for n in values[::-1]])] == (
        verdicts[::-1]
    )


# Field by field: values at the top, in arrays of values and in arrays of records.
_COLUMNS_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Basket",
        "fields": [
            {"name": "code", "type": "string"},
            {"name": "counts", "type": {"type": "array", "items": "long"}},
            {
                "name": "lines",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Line",
                        "fields": [
                            {"name": "qty", "type": "int"},
                            {"name": "sku", "type": "string"},
                        ],
                    },
                },
            },
            {"name": "flag", "type": "boolean"},
        ],
    }
)
_COLUMN_RULES = [
    cel_rule("code", "name == 'code' ; value.matches('^[A-Z]{3}$')", "CEL_FIELD"),
    cel_rule("counts", "name == 'counts' ; value < 100", "CEL_FIELD"),
    cel_rule("qty", "name == 'qty' ; value > 0", "CEL_FIELD"),
    cel_rule("present", "size(message.lines) > 0"),
]


def _basket(
    code: str = "EUR", counts: list[object] | None = None, qty: object = 1
) -> dict[str, object]:
    lines = [{"qty": qty, "sku": "a"}, {"qty": 2, "sku": "b"}]
    return {
        "code": code,
        "counts": [1, 2] if counts is None else counts,
        "lines": lines,
        "flag": True,
    }


def test_a_batch_taken_field_by_field_gets_each_records_own_violations() -> None:
    evaluator = RuleEvaluator(_COLUMN_RULES, schema=_COLUMNS_SCHEMA)
    assert set(evaluator.fused_rules) == {"code", "counts", "qty", "present"}
    reference = RuleEvaluator(_COLUMN_RULES, schema=_COLUMNS_SCHEMA, optimize=False)
    batches: list[list[dict[str, object]]] = [
        [_basket() for _ in range(20)],
        [_basket(), _basket(code="eur"), _basket(counts=[1, 500]), _basket(qty=0), _basket()],
        [_basket(counts=[True, 1]), _basket(counts=[1, True]), _basket(qty=True)],  # 1 and True
        [_basket(counts=[]), {**_basket(), "lines": []}, {**_basket(), "lines": False}],
        [_basket(), {**_basket(), "counts": False}],  # fails whatever the bodies say
        [{**_basket(), "flag": False}, _basket(qty=None), {"code": "EUR"}],
        [_basket(code=f"C{n:05d}", counts=[n]) for n in range(5000)],  # past the memo's size
        [_basket(counts=[2.5]), _basket()],  # a double: record by record
    ]
    for batch in batches:
        expected = [reference.evaluate(record) for record in batch]
        assert evaluator.evaluate_batch(batch) == expected
        assert evaluator.evaluate_batch(batch) == expected  # the memos warm
