"""Confluent's cel-python `CelExecutor` and our native engine give every rule the same verdict.

Every rule of the corpus (and every `quality` rule a product ships) against every record, both
as a producer writes it and as a consumer reads it back. A verdict is what the serializer does
with it: the rule passes, or it fails (false, or an evaluation error, which confluent also
counts as a failure). The few expressions known to differ are pinned in their own test.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from confluent_kafka.schema_registry.serde import RuleExecutor

from streammesh.contracts import NativeCelExecutor, RuleEvaluator
from tests.unit.contracts.conftest import CONFLUENT_CEL, ContextFactory, cel_rule
from tests.unit.contracts.corpus import (
    DISAGREEMENTS,
    RECORDS,
    RULES,
    decoded,
    order,
    shipped_rules,
)

ROOT = Path(__file__).resolve().parents[3]
ALL_RULES = {**RULES, **shipped_rules(ROOT)}
SAMPLES = [(f"{name}", record) for name, record in RECORDS.items()] + [
    (f"{name} (decoded)", decoded(record)) for name, record in RECORDS.items()
]


def verdict(executor: RuleExecutor, factory: ContextFactory, expr: str, record: object) -> bool:
    try:
        return bool(executor.transform(factory("rule", expr), record))
    except Exception:  # noqa: BLE001 - confluent's serde fails the rule on any exception
        return False


@pytest.fixture(scope="module")
def confluent() -> RuleExecutor:
    return CONFLUENT_CEL()


@pytest.mark.parametrize("name", sorted(ALL_RULES))
def test_engines_agree_on_every_record(
    name: str, confluent: RuleExecutor, rule_context_factory: ContextFactory
) -> None:
    expr = ALL_RULES[name]
    ours = NativeCelExecutor()
    evaluator = RuleEvaluator([cel_rule(name, expr)])
    mismatches = []
    for sample, record in SAMPLES:
        theirs = verdict(confluent, rule_context_factory, expr, record)
        native = verdict(ours, rule_context_factory, expr, record)
        evaluated = not evaluator.evaluate(record)
        if not theirs == native == evaluated:
            mismatches.append(
                f"{sample}: cel-python {theirs}, executor {native}, evaluator {evaluated}"
            )
    assert not mismatches, "\n".join(mismatches)


def test_corpus_separates_records(
    confluent: RuleExecutor, rule_context_factory: ContextFactory
) -> None:
    """The differential means something only if most rules both pass and fail some record."""
    discriminating = [
        name
        for name, expr in RULES.items()
        if len({verdict(confluent, rule_context_factory, expr, r) for r in RECORDS.values()}) == 2
    ]
    assert len(RULES) >= 25
    assert len(discriminating) >= 25, discriminating


@pytest.mark.parametrize("name", sorted(DISAGREEMENTS))
def test_known_disagreements_stay_known(
    name: str, confluent: RuleExecutor, rule_context_factory: ContextFactory
) -> None:
    """If one of these starts agreeing, the engines changed: update the notes in corpus.py."""
    expr, record = DISAGREEMENTS[name]

    theirs = verdict(confluent, rule_context_factory, expr, record)
    native = verdict(NativeCelExecutor(), rule_context_factory, expr, record)

    assert theirs != native


def test_a_batch_of_every_record_gets_each_ones_verdict() -> None:
    """Every rule together over every sample at once: each record's violations as on its own."""
    evaluator = RuleEvaluator([cel_rule(name, expr) for name, expr in sorted(ALL_RULES.items())])
    records = [record for _, record in SAMPLES]

    assert evaluator.evaluate_batch(records) == [evaluator.evaluate(r) for r in records]


def test_batches_after_the_first_keep_each_records_verdict() -> None:
    """Message rules of one field keep the values they passed on; a value seen again, failing or
    not, a decimal zero, a size, an absent field: each record's violations as on its own."""
    evaluator = RuleEvaluator(
        [
            cel_rule("amount", "message.amount >= 0.0"),
            cel_rule("items", "size(message.items) > 0"),
            cel_rule("priority", "message.priority != 7"),
            cel_rule("weight", "1.0 / message.weight > 0.0"),
        ]
    )
    samples = [
        order(),
        order(amount=Decimal("-1.00")),
        order(amount=Decimal("0.00")),
        order(amount=Decimal("-0.00")),
        order(items=[]),
        order(priority=7),
        order(weight=0.0),
        order(weight=-0.0),
        order(weight=float("nan")),
        {k: v for k, v in order().items() if k != "amount"},
    ]
    records = [*samples, *(decoded(r) for r in samples[:6]), *samples]
    expected = [evaluator.evaluate(r) for r in records]
    for _ in range(3):  # the first batch teaches the memos, the next ones use them
        assert evaluator.evaluate_batch(records) == expected
    assert [bool(v) for v in expected[: len(samples)]] == [
        False,
        True,  # amount -1.00
        False,
        False,
        True,  # no items
        True,  # priority 7
        False,  # 1.0 / 0.0 is infinity
        True,  # 1.0 / -0.0 is minus infinity
        True,  # NaN
        True,  # no amount
    ]


def test_rules_over_many_distinct_values_keep_each_records_verdict() -> None:
    """One-field rules evaluated over the batch's distinct values: values seen once, an error
    on some (spread to the whole list in CEL), the field named inside a string literal and a
    comment, which stay as written."""
    evaluator = RuleEvaluator(
        [
            cel_rule("amount", "message.amount >= 0.0 && message.amount != 13.37"),
            cel_rule("note", "size(message.note) > 2 // message.note may be null: an error"),
            cel_rule("literal", "message.currency != 'message.currency'"),
            # A loop variable named as the value list's would take its place.
            cel_rule("shadow", "[0].all(__streammesh_row, message.priority > __streammesh_row)"),
        ]
    )
    records: list[dict[str, object]] = [
        order(
            amount=Decimal(n - 40) / 100 + Decimal("13.77"),
            note=None if n % 7 == 0 else "x" * (n % 4),
            currency="message.currency" if n % 11 == 0 else "EUR",
            priority=-1 if n % 13 == 5 else 3,  # a passing value first: it would clear all
        )
        for n in range(300)
    ]
    records[151] = {k: v for k, v in records[151].items() if k != "amount"}  # an error
    records[155]["amount"] = Decimal("-0.00")
    expected = [evaluator.evaluate(r) for r in records]
    failed = {v.rule_name for found in expected for v in found}
    assert failed == {"amount", "note", "literal", "shadow"}
    # The first batch finds the memo of little use; the next ones are checked value by value.
    for _ in range(3):
        assert evaluator.evaluate_batch(records) == expected
