"""Errors of data-contract rule evaluation."""

from streammesh.errors import StreamMeshError


class RuleError(StreamMeshError):
    """Base of every error raised while compiling or evaluating data-contract rules (a
    descriptor that does not fit its schema is `streammesh.products.ContractError`)."""


class RuleCompileError(RuleError):
    """A rule's CEL expression does not compile."""

    def __init__(self, rule: str, expr: str, cause: str) -> None:
        super().__init__(f"rule {rule!r}: CEL expression {expr!r} does not compile: {cause}")
        self.rule = rule
        self.expr = expr
        self.cause = cause


class RuleEvaluationError(RuleError):
    """A CEL expression evaluated to a CEL error (missing field, no matching overload, ...)."""

    def __init__(self, expr: str, cause: str) -> None:
        super().__init__(f"CEL expression {expr!r} failed: {cause}")
        self.expr = expr
        self.cause = cause


class RuleCostError(RuleError):
    """A rule could make one evaluation too expensive (see `streammesh.contracts.cost`)."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"rule {rule!r} is too expensive: {reason}")
        self.rule = rule
        self.reason = reason
