"""A rule's static cost bounds the work of one evaluation: it grows with literal ranges, their
nesting and the literals read inside loops, stops at the runtime's iteration budget, and an
expression over the limit is refused before it ever runs on a record."""

from __future__ import annotations

import time

import pytest
from cel_expr_python import cel

from streammesh.contracts import RuleCompileError, RuleCostError, check_rule_cost, rule_cost
from streammesh.contracts.cost import ITERATION_BUDGET, MAX_EXPR_LENGTH, MAX_RULE_COST


def numbers(count: int) -> str:
    return "[" + ",".join(map(str, range(count))) + "]"


def test_a_plain_check_costs_its_nodes() -> None:
    assert rule_cost("true") == 1
    assert rule_cost("message.amount >= 0") == 4  # >=, the select, message, 0
    # a literal an operator reads costs its size again
    assert rule_cost("message.c in ['EUR', 'USD']") == rule_cost("message.c in ['EUR']") + 2


def test_a_loop_multiplies_its_body_by_its_literal_range() -> None:
    ten, hundred = (rule_cost(f"{numbers(n)}.all(x, x >= 0)") for n in (10, 100))
    assert 9 * ten < hundred < 11 * ten


def test_nested_loops_multiply_until_the_runtime_budget() -> None:
    inner = rule_cost(f"{numbers(50)}.all(x, {numbers(50)}.all(y, y >= x))")
    assert inner > 50 * 50
    # a range read from the record counts as the whole budget, and so do two nested ones
    data = rule_cost("message.items.all(i, i.qty > 0)")
    nested = rule_cost("message.a.all(x, message.b.all(y, x != y))")
    assert ITERATION_BUDGET <= data < 10 * ITERATION_BUDGET
    assert nested < 3 * data


def test_a_guard_counts_with_its_expression() -> None:
    assert rule_cost("true ; message.a > 0") == rule_cost("true") + rule_cost("message.a > 0")


def test_ordinary_rules_are_far_under_the_limit() -> None:
    for expr in (
        "message.total == message.items.map(i, i.price * i.qty).size()",
        "message.currency in ['EUR', 'USD', 'GBP', 'CHF', 'JPY']",
        "fullName == 'shop.Visit.page' ; value.size() > 0 && value.matches('^/[a-z/]*$')",
        "message.items.all(i, i.qty > 0 && i.sku != '' && i.price >= 0.0)",
    ):
        assert check_rule_cost(expr) < MAX_RULE_COST // 4, expr


@pytest.mark.parametrize(
    "expr",
    [
        # ~1.4e7 steps under the runtime's 10,000 iterations: the literal is built every time
        f"{numbers(900)}.all(x, x in {numbers(800)})",
        f"{numbers(300)}.all(a, {numbers(300)}.all(b, {numbers(300)}.all(c, a + b > c)))",
        f"message.items.all(i, i in {numbers(200)})",
    ],
    ids=["scan-in-loop", "three-nested", "literal-in-data-loop"],
)
def test_an_expensive_rule_is_refused_by_name(expr: str) -> None:
    with pytest.raises(RuleCostError, match=r"rule 'greedy' is too expensive: .* steps"):
        check_rule_cost(expr, "greedy")


def test_a_refused_rule_would_really_be_slow() -> None:
    # The bound is about real time: what it refuses takes far longer per record than what it
    # accepts at the limit (a guard on the model, with generous margins).
    expr = f"{numbers(1500)}.all(x, x in {numbers(1500)})"
    assert rule_cost(expr) > 4 * MAX_RULE_COST
    program = cel.NewEnv().compile(expr, disable_check=True)
    started = time.perf_counter()
    program.eval(data={})
    assert time.perf_counter() - started > 0.02


def test_a_long_expression_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(RuleCostError, match=f"more than {MAX_EXPR_LENGTH}"):
        check_rule_cost("1 == " + "1" * MAX_EXPR_LENGTH)


def test_an_expression_that_does_not_parse_is_a_compile_error() -> None:
    with pytest.raises(RuleCompileError):
        rule_cost("message.a >")
