"""Data-contract rules (Confluent `ruleSet` CEL rules) evaluated on Google's C++ CEL runtime."""

from streammesh.contracts.cel import CelProgram, CelRuleExpression, compile_rule_expression, to_cel
from streammesh.contracts.errors import ContractError, RuleCompileError, RuleEvaluationError
from streammesh.contracts.executor import NativeCelExecutor, NativeCelFieldExecutor
from streammesh.contracts.rules import RuleEvaluator, RuleViolation

__all__ = [
    "CelProgram",
    "CelRuleExpression",
    "ContractError",
    "NativeCelExecutor",
    "NativeCelFieldExecutor",
    "RuleCompileError",
    "RuleEvaluationError",
    "RuleEvaluator",
    "RuleViolation",
    "compile_rule_expression",
    "to_cel",
]
