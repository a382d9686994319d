"""Data-contract rules (Confluent `ruleSet` CEL rules) evaluated on Google's C++ CEL runtime."""

from streammesh.contracts.cel import CelProgram, CelRuleExpression, compile_rule_expression, to_cel
from streammesh.contracts.cost import MAX_RULE_COST, check_rule_cost, rule_cost
from streammesh.contracts.errors import (
    RuleCompileError,
    RuleCostError,
    RuleError,
    RuleEvaluationError,
)
from streammesh.contracts.executor import NativeCelExecutor, NativeCelFieldExecutor
from streammesh.contracts.rules import RuleEvaluator, RuleViolation

__all__ = [
    "MAX_RULE_COST",
    "CelProgram",
    "CelRuleExpression",
    "NativeCelExecutor",
    "NativeCelFieldExecutor",
    "RuleCompileError",
    "RuleCostError",
    "RuleError",
    "RuleEvaluationError",
    "RuleEvaluator",
    "RuleViolation",
    "check_rule_cost",
    "compile_rule_expression",
    "rule_cost",
    "to_cel",
]
