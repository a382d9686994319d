"""Evaluating a schema's data-contract CONDITION rules against one record at a time.

What the SDK's pre-send validation and the quality monitor call per record. Which rules apply,
in what order, and what counts as a failure follow confluent-kafka's serde
(`_execute_rules_with_phase`), so a record passes here exactly when a confluent client would
let it through.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, final

from confluent_kafka.schema_registry.common.avro import (
    get_inline_tags,
    parse_schema_with_repo,
    transform,
)
from confluent_kafka.schema_registry.schema_registry_client import (
    Rule,
    RuleKind,
    RuleMode,
    Schema,
)
from confluent_kafka.schema_registry.serde import RuleConditionError, RuleContext
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro.schema import expand_schema

from streammesh.contracts.cel import CelRuleExpression, compile_rule_expression
from streammesh.contracts.errors import RuleError, RuleEvaluationError
from streammesh.contracts.executor import field_transform
from streammesh.contracts.fields import FieldPlan, compile_field_rule
from streammesh.contracts.fused import FusedCheck, fuse

__all__ = ["RuleEvaluator", "RuleViolation"]

_CEL_TYPES: Final = frozenset({"CEL", "CEL_FIELD"})
_PASSED: Final[Sequence["RuleViolation"]] = ()
_SER_CTX: Final = SerializationContext("", MessageField.VALUE)


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A CONDITION rule a record failed; `on_failure` is the action for this mode (ERROR, DLQ,
    NONE, ...), `message` the rule's doc, or confluent's text, plus the CEL error if any."""

    rule_name: str
    expr: str
    message: str
    on_failure: str


def _applies(rule: Rule, mode: RuleMode) -> bool:
    if rule.mode == RuleMode.WRITEREAD:
        return mode in (RuleMode.READ, RuleMode.WRITE)
    if rule.mode == RuleMode.UPDOWN:
        return mode in (RuleMode.UPGRADE, RuleMode.DOWNGRADE)
    return rule.mode == mode


def _on_failure(rule: Rule, mode: RuleMode) -> str:
    action = rule.on_failure or "ERROR"
    if rule.mode in (RuleMode.WRITEREAD, RuleMode.UPDOWN) and "," in action:
        write, _, read = action.partition(",")
        return write if mode in (RuleMode.WRITE, RuleMode.UPGRADE) else read
    return action


@final
class _Compiled:
    __slots__ = ("expression", "failure", "kind", "plan", "rule", "violation")

    def __init__(self, rule: Rule, expression: CelRuleExpression, mode: RuleMode) -> None:
        self.rule = rule
        self.expression = expression
        self.kind = (rule.type or "").upper()
        self.plan: FieldPlan | None = None  # a CEL_FIELD rule resolved against the schema
        self.failure = RuleConditionError.error_message(rule)
        self.violation = RuleViolation(
            rule.name or "", rule.expr or "", self.failure, _on_failure(rule, mode)
        )

    def failed(self, cause: RuleEvaluationError) -> RuleViolation:
        return RuleViolation(
            self.violation.rule_name,
            self.violation.expr,
            f"{self.failure}: {cause.cause}",
            self.violation.on_failure,
        )


@final
class RuleEvaluator:
    """The CEL and CEL_FIELD CONDITION rules of a rule set that apply in one mode.

    `domain_rules` are the `ruleSet.domainRules` entries as the registry returns them. CEL_FIELD
    rules walk the record by its Avro `schema` (a registered `Schema`, whose metadata tags then
    count too, or the schema text); without one they raise `RuleError`. Expressions are
    compiled here, so a rule that does not compile fails at construction.

    CEL_FIELD rules are also resolved against the schema here (`streammesh.contracts.fields`), so
    a record costs only the evaluations of their bodies on the fields they apply to; a rule whose
    guard depends on the record keeps confluent's own field walk (`slow_field_rules` names them).
    A record is first checked against as many rules as can share one CEL evaluation
    (`streammesh.contracts.fused`); only when that check does not pass do the rules run one by
    one. `optimize=False` runs every rule on its own, CEL_FIELD rules on confluent's walk: the
    reference the fast paths are tested and measured against.
    """

    __slots__ = (
        "_field_rules",
        "_fused",
        "_inline_tags",
        "_message_rules",
        "_rest",
        "_schema",
        "_target",
        "mode",
    )

    def __init__(
        self,
        domain_rules: Sequence[Mapping[str, Any]],
        mode: str = "WRITE",
        *,
        schema: Schema | str | None = None,
        enable_at: str | None = None,
        optimize: bool = True,
    ) -> None:
        self.mode = RuleMode(mode.upper())
        rules = [Rule.from_dict(dict(rule)) for rule in domain_rules]
        if self.mode in (RuleMode.READ, RuleMode.DOWNGRADE):
            rules.reverse()  # confluent runs read-side rules last to first
        enabled = enable_at in (None, "ALL", "CLIENT")
        compiled = [
            _Compiled(rule, compile_rule_expression(rule.expr, rule.name or "<unnamed>"), self.mode)
            for rule in rules
            if enabled
            and not rule.disabled
            and rule.kind == RuleKind.CONDITION
            and (rule.type or "").upper() in _CEL_TYPES
            and rule.expr is not None
            and _applies(rule, self.mode)
        ]
        self._message_rules = tuple(c for c in compiled if c.kind == "CEL")
        self._field_rules = tuple(c for c in compiled if c.kind == "CEL_FIELD")
        self._target = schema if isinstance(schema, Schema) else Schema(schema, "AVRO")
        self._schema: Any = None
        self._inline_tags: dict[str, set[str]] = {}
        if self._field_rules:
            if self._target.schema_str is None:
                names = ", ".join(c.violation.rule_name for c in self._field_rules)
                raise RuleError(f"CEL_FIELD rules ({names}) need the record's Avro schema")
            parsed = parse_schema_with_repo(self._target.schema_str, {})
            self._schema = expand_schema(parsed)
            self._inline_tags = get_inline_tags(parsed)
            if optimize:
                for field_rule in self._field_rules:
                    field_rule.plan = compile_field_rule(
                        field_rule.expression, self._schema, self._context(field_rule.rule)
                    )
        self._fused: FusedCheck | None = None
        # The rules the fused check leaves out, message rules first, as `evaluate` runs them.
        self._rest = (*self._message_rules, *self._field_rules)
        if optimize:
            self._fused, messages, fields = fuse(
                [c.expression for c in self._message_rules], [c.plan for c in self._field_rules]
            )
            self._rest = (
                *(c for n, c in enumerate(self._message_rules) if n not in messages),
                *(c for n, c in enumerate(self._field_rules) if n not in fields),
            )

    @property
    def slow_field_rules(self) -> tuple[str, ...]:
        """Names of the CEL_FIELD rules evaluated by confluent's field walk, field by field."""
        return tuple(c.violation.rule_name for c in self._field_rules if c.plan is None)

    @property
    def fused_rules(self) -> tuple[str, ...]:
        """Names of the rules a record is first checked against in one evaluation."""
        if self._fused is None:
            return ()
        rest = {id(c) for c in self._rest}
        everything = (*self._message_rules, *self._field_rules)
        return tuple(c.violation.rule_name for c in everything if id(c) not in rest)

    @classmethod
    def from_rule_set(
        cls, rule_set: Mapping[str, Any], mode: str = "WRITE", *, schema: Schema | str | None = None
    ) -> "RuleEvaluator":
        """From a whole `ruleSet` object: its `domainRules` and `enableAt`."""
        return cls(
            rule_set.get("domainRules") or [],
            mode,
            schema=schema,
            enable_at=rule_set.get("enableAt"),
        )

    def reads(self, path: tuple[str, ...]) -> bool:
        """Whether evaluating a record may read its value at `path` (field names from the
        record down, array items and map values taking none): what a decoder may leave
        unconverted elsewhere (`streammesh.serde.deferred`). A field rule on confluent's own
        walk reads everything."""
        return any(c.expression.reads(path) for c in self._message_rules) or any(
            c.plan is None or c.plan.reads(path) for c in self._field_rules
        )

    def evaluate(self, record: Mapping[str, object]) -> Sequence[RuleViolation]:
        """The rules `record` fails, in confluent's order; an empty tuple when it passes."""
        rules = self._rest
        # Other mappings bind as they are for message rules, and as dicts for field rules.
        if self._fused is None or not isinstance(record, dict) or not self._fused.passes(record):
            rules = (*self._message_rules, *self._field_rules)
        return self._run(rules, record)

    def evaluate_batch(
        self, records: Sequence[Mapping[str, object]]
    ) -> list[Sequence[RuleViolation]]:
        """`evaluate` of each record, in order: the same violations, found with one evaluation
        of the fused check for the whole batch and each rule one by one only for the records it
        does not clear."""
        if self._fused is None:
            return [self.evaluate(record) for record in records]
        results: list[Sequence[RuleViolation]] = [_PASSED] * len(records)
        suspects = self._fused.suspects(records)
        everything = (*self._message_rules, *self._field_rules)
        if self._rest:
            marked = set(suspects)
            for index, record in enumerate(records):
                results[index] = self._run(everything if index in marked else self._rest, record)
        else:
            for index in suspects:
                results[index] = self._run(everything, records[index])
        return results

    def _run(
        self, rules: tuple[_Compiled, ...], record: Mapping[str, object]
    ) -> Sequence[RuleViolation]:
        violations: list[RuleViolation] | None = None
        for compiled in rules:
            if compiled.kind == "CEL":
                found = self._check(compiled, record)
            else:
                found = self._check_fields(compiled, record)
            if found is not None:
                violations = [found] if violations is None else [*violations, found]
        return _PASSED if violations is None else violations

    @staticmethod
    def _check(compiled: _Compiled, record: Mapping[str, object]) -> RuleViolation | None:
        expression = compiled.expression
        try:
            if not expression.applies(record) or expression.body.evaluate(record):
                return None
        except RuleEvaluationError as exc:
            return compiled.failed(exc)
        return compiled.violation

    def _context(self, rule: Rule) -> RuleContext:
        """The context confluent's serde hands a CEL_FIELD rule's field walk."""
        tags = self._inline_tags
        return RuleContext(
            None, _SER_CTX, None, self._target, "", self.mode, rule, 0, [rule], tags, None
        )

    def _check_fields(
        self, compiled: _Compiled, record: Mapping[str, object]
    ) -> RuleViolation | None:
        message = record if isinstance(record, dict) else dict(record)
        plan = compiled.plan
        if plan is not None:
            try:
                return compiled.violation if plan.fails(message) else None
            except RuleEvaluationError as exc:
                return compiled.failed(exc)
        ctx = self._context(compiled.rule)
        try:
            # confluent's own schema walk, so tags, unions and nesting select fields as it does
            transform(ctx, self._schema, message, field_transform)
        except RuleConditionError:
            return compiled.violation
        except RuleEvaluationError as exc:
            return compiled.failed(exc)
        return None
