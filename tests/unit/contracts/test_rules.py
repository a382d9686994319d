"""`RuleEvaluator` picks the rules confluent's serde would run for a mode, and reports each
failed CONDITION as a `RuleViolation` carrying its rule, text and failure action."""

import pytest
from confluent_kafka.schema_registry import Metadata, MetadataTags, Schema

from streammesh.contracts import RuleCompileError, RuleError, RuleEvaluator, RuleViolation
from streammesh.errors import StreamMeshError
from tests.unit.contracts.conftest import cel_rule
from tests.unit.contracts.corpus import ORDER_SCHEMA_STR, TWO_CLAUSE, order

AMOUNT = cel_rule("amount_positive", TWO_CLAUSE)
NEGATIVE = order(amount=-1)


def test_a_passing_record_gets_the_shared_empty_result() -> None:
    evaluator = RuleEvaluator([AMOUNT, cel_rule("items", "message.items.size() > 0")])

    first, second = evaluator.evaluate(order()), evaluator.evaluate(order(currency="USD"))

    assert first == ()
    assert first is second


def test_a_violation_names_the_rule_and_its_action() -> None:
    rule = {**AMOUNT, "onFailure": "DLQ"}

    assert RuleEvaluator([rule]).evaluate(NEGATIVE) == [
        RuleViolation("amount_positive", TWO_CLAUSE, f"Rule expr failed: {TWO_CLAUSE}", "DLQ")
    ]


def test_doc_is_the_message_and_errors_carry_the_cel_error() -> None:
    rules = [
        {**AMOUNT, "doc": "amount must be positive"},
        cel_rule("discount", "message.discount > 0"),
    ]

    amount, discount = RuleEvaluator(rules).evaluate(NEGATIVE)

    assert amount.message == "amount must be positive"
    assert "discount" in discount.message
    assert discount.message.startswith("Rule expr failed: message.discount > 0: ")
    assert discount.on_failure == "ERROR"


@pytest.mark.parametrize(
    ("rule_mode", "mode", "applies"),
    [
        ("WRITE", "WRITE", True),
        ("WRITE", "READ", False),
        ("READ", "READ", True),
        ("WRITEREAD", "WRITE", True),
        ("WRITEREAD", "READ", True),
        ("WRITEREAD", "UPGRADE", False),
        ("UPDOWN", "DOWNGRADE", True),
        ("UPGRADE", "WRITE", False),
    ],
)
def test_modes_select_rules_as_confluent_does(rule_mode: str, mode: str, applies: bool) -> None:
    evaluator = RuleEvaluator([{**AMOUNT, "mode": rule_mode}], mode)

    assert bool(evaluator.evaluate(NEGATIVE)) is applies


@pytest.mark.parametrize(
    "change",
    [{"disabled": True}, {"kind": "TRANSFORM"}, {"type": "JSONATA"}, {"type": "ENCRYPT"}],
    ids=["disabled", "transform", "jsonata", "encrypt"],
)
def test_only_enabled_cel_conditions_run(change: dict[str, object]) -> None:
    assert RuleEvaluator([{**AMOUNT, **change}]).evaluate(NEGATIVE) == ()


def test_enable_at_another_environment_disables_the_rule_set() -> None:
    rule_set = {"domainRules": [AMOUNT], "enableAt": "SERVER"}

    assert RuleEvaluator.from_rule_set(rule_set).evaluate(NEGATIVE) == ()
    assert RuleEvaluator.from_rule_set({"domainRules": [AMOUNT]}).evaluate(NEGATIVE)


def test_writeread_actions_split_by_mode_and_read_runs_rules_last_to_first() -> None:
    rules = [
        {**AMOUNT, "mode": "WRITEREAD", "onFailure": "DLQ,NONE"},
        cel_rule("currency", "message.currency == 'EUR'", mode="WRITEREAD"),
    ]
    record = order(amount=-1, currency="USD")

    written = RuleEvaluator(rules, "WRITE").evaluate(record)
    read = RuleEvaluator(rules, "read").evaluate(record)

    assert [(v.rule_name, v.on_failure) for v in written] == [
        ("amount_positive", "DLQ"),
        ("currency", "ERROR"),
    ]
    assert [(v.rule_name, v.on_failure) for v in read] == [
        ("currency", "ERROR"),
        ("amount_positive", "NONE"),
    ]


def test_a_rule_that_does_not_compile_fails_construction_naming_it() -> None:
    with pytest.raises(RuleCompileError, match=r"rule 'broken'.*Syntax error") as caught:
        RuleEvaluator([cel_rule("broken", "message.amount >")])

    assert isinstance(caught.value, RuleError)
    assert isinstance(caught.value, StreamMeshError)
    assert caught.value.rule == "broken"


def test_field_rules_need_the_schema() -> None:
    with pytest.raises(RuleError, match="pii"):
        RuleEvaluator([cel_rule("pii", "value.size() > 3", "CEL_FIELD")])


def test_field_rules_run_on_the_fields_with_the_rules_tags() -> None:
    rule = cel_rule("pii", "!value.contains(' ')", "CEL_FIELD", tags=["PII"])
    evaluator = RuleEvaluator([rule], schema=ORDER_SCHEMA_STR)

    assert evaluator.evaluate(order(gift=True)) == ()
    assert evaluator.evaluate(order(gift=True, customer_id="c 1"))
    # Nested records count: Shipping.email is tagged PII too.
    assert evaluator.evaluate(order(gift=True, shipping={"country": "DE", "email": "a @b"}))
    assert not evaluator.evaluate(order(gift=True, currency="E R"))


def test_field_rules_see_metadata_tags_of_a_registered_schema() -> None:
    tags = MetadataTags({"shop.Order.currency": ["CODE"]})
    schema = Schema(ORDER_SCHEMA_STR, "AVRO", metadata=Metadata(tags, None, None))
    rule = cel_rule("code", "typeName == 'STRING' && value.size() == 3", "CEL_FIELD", tags=["CODE"])
    evaluator = RuleEvaluator([rule], schema=schema)

    assert evaluator.evaluate(order(gift=True)) == ()
    assert evaluator.evaluate(order(gift=True, currency="EURO"))
