"""Contract fixtures: rule contexts shaped as confluent's serializer builds them."""

from collections.abc import Callable

import pytest
from confluent_kafka.schema_registry import Rule, RuleKind, RuleMode, Schema
from confluent_kafka.schema_registry.rule_registry import RuleRegistry
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.schema_registry.rules.cel.cel_field_executor import CelFieldExecutor
from confluent_kafka.schema_registry.serde import RuleContext, RuleExecutor
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.unit.contracts.corpus import ORDER_SCHEMA_STR

ContextFactory = Callable[[str, str], RuleContext]

# confluent's cel-python executors and its rule registry, typed (their __init__ are not).
CONFLUENT_CEL: type[RuleExecutor] = CelExecutor
CONFLUENT_CEL_FIELD: type[RuleExecutor] = CelFieldExecutor
new_rule_registry: Callable[[], RuleRegistry] = RuleRegistry


def cel_rule(name: str, expr: str, rule_type: str = "CEL", **fields: object) -> dict[str, object]:
    """A `domainRules` entry as the registry returns it."""
    rule: dict[str, object] = {
        "name": name,
        "kind": "CONDITION",
        "mode": "WRITE",
        "type": rule_type,
        "expr": expr,
        "onFailure": "ERROR",
    }
    rule.update(fields)
    return rule


@pytest.fixture
def rule_context_factory() -> ContextFactory:
    """Builds the context confluent's serde hands an executor for one WRITE CONDITION rule."""
    target = Schema(ORDER_SCHEMA_STR, "AVRO")
    ser_ctx = SerializationContext("orders", MessageField.VALUE)

    def build(name: str, expr: str) -> RuleContext:
        rule = Rule.from_dict(cel_rule(name, expr))
        mode, subject = RuleMode.WRITE, "orders-value"
        assert rule.kind == RuleKind.CONDITION
        return RuleContext(None, ser_ctx, None, target, subject, mode, rule, 0, [rule], None, None)

    return build
