"""`CEL` and `CEL_FIELD` rule executors for confluent-kafka's rule registry, on the native engine.

Drop-in replacements for confluent's `CelExecutor` / `CelFieldExecutor`: same rule type names,
same `[guard;] expression` reading, same variables (`message`; for fields also `value`,
`fullName`, `name`, `typeName`, `tags`). Registering them makes confluent's own serializers and
deserializers evaluate CEL rules natively. Records are dicts (Avro, JSON Schema); protobuf
messages are handed to the runtime as they are.
"""

from typing import Any

from confluent_kafka.schema_registry.rule_registry import RuleRegistry
from confluent_kafka.schema_registry.schema_registry_client import RuleKind
from confluent_kafka.schema_registry.serde import (
    FieldContext,
    FieldRuleExecutor,
    FieldTransform,
    RuleContext,
    RuleExecutor,
)

from streammesh.contracts.cel import compile_rule_expression

__all__ = ["NativeCelExecutor", "NativeCelFieldExecutor", "field_transform"]


def _execute(ctx: RuleContext, value: Any, message: object, variables: dict[str, object]) -> Any:
    expr = ctx.rule.expr
    if expr is None:
        return value
    program = compile_rule_expression(expr, ctx.rule.name or "<unnamed>")
    if not program.applies(message, variables):
        return True if ctx.rule.kind == RuleKind.CONDITION else value
    return program.body.evaluate(message, variables)


def field_transform(ctx: RuleContext, field_ctx: FieldContext, field_value: Any) -> Any:
    """Confluent's `CelFieldExecutor` transform on the native engine, for its schema walk."""
    if not field_ctx.is_primitive():
        return field_value
    variables: dict[str, object] = {
        "value": field_value,
        "fullName": field_ctx.full_name,
        "name": field_ctx.name,
        "typeName": field_ctx.type_name(),
        "tags": list(field_ctx.tags),
    }
    return _execute(ctx, field_value, field_ctx.containing_message, variables)


class NativeCelExecutor(RuleExecutor):
    """The `CEL` rule type: the expression sees the whole record as `message`."""

    def type(self) -> str:
        return "CEL"

    def transform(self, ctx: RuleContext, message: Any) -> Any:
        return _execute(ctx, message, message, {})

    @classmethod
    def register(cls, registry: RuleRegistry | None = None) -> None:
        """Registers into `registry`, or the global one (replacing confluent's `CelExecutor`)."""
        if registry is None:
            RuleRegistry.register_rule_executor(cls())
        else:
            registry.register_executor(cls())


class NativeCelFieldExecutor(FieldRuleExecutor):
    """The `CEL_FIELD` rule type: run per primitive field whose tags match the rule's."""

    def type(self) -> str:
        return "CEL_FIELD"

    def new_transform(self, ctx: RuleContext) -> FieldTransform:
        return field_transform

    @classmethod
    def register(cls, registry: RuleRegistry | None = None) -> None:
        """Registers into `registry`, or the global one (replacing `CelFieldExecutor`)."""
        if registry is None:
            RuleRegistry.register_rule_executor(cls())
        else:
            registry.register_executor(cls())
