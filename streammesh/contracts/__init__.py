"""Data-contract rules (Confluent `ruleSet` CEL rules) evaluated on Google's C++ CEL runtime."""

from streammesh.contracts.cel import CelProgram, CelRuleExpression, compile_rule_expression, to_cel
from streammesh.contracts.errors import RuleCompileError, RuleError, RuleEvaluationError
from streammesh.contracts.executor import NativeCelExecutor, NativeCelFieldExecutor
from streammesh.contracts.rules import RuleEvaluator, RuleViolation

__all__ = [
    "CelProgram",
    "CelRuleExpression",
    "NativeCelExecutor",
    "NativeCelFieldExecutor",
    "RuleCompileError",
    "RuleError",
    "RuleEvaluationError",
    "RuleEvaluator",
    "RuleViolation",
    "compile_rule_expression",
    "to_cel",
]
