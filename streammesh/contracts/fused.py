"""One CEL evaluation that clears a record of several rules at once.

Evaluating a compiled program costs about 2 µs before it does any work, so a rule set of four
rules pays that four times or more per record. Almost every record passes, though, and for one
that does a single program can say so: the conjunction of each message rule's condition
(`(guard) ? (body) : true`) and, for each resolved CEL_FIELD rule, `list.all(value, (body) !=
false)` over the values its bodies run on. CEL's `&&` is `true` only when every operand is `true`
(a `false` or an error anywhere gives `false` or an error), which is exactly when each rule on
its own passes. Any other result sends the record through the rules one by one, which say which
fail and why, so violations and their messages are those of the rules evaluated separately.

Rules that read `now` stay out: each evaluation binds its own `now`.
"""

import re
from collections.abc import Sequence
from typing import Final, final

from streammesh.contracts.cel import CelProgram, CelRuleExpression
from streammesh.contracts.errors import RuleCompileError
from streammesh.contracts.fields import FieldPlan

__all__ = ["FusedCheck", "fuse"]

_NOW: Final = re.compile(r"\bnow\b")
_VALUES: Final = "__streammesh_fused_"


@final
class FusedCheck:
    """Whether a record certainly passes the rules `fuse` took; False means "ask each rule"."""

    __slots__ = ("_plans", "_program", "_slots")

    def __init__(
        self, program: CelProgram | None, plans: tuple[FieldPlan, ...], slots: int
    ) -> None:
        self._program = program
        self._plans = plans
        self._slots = slots

    def passes(self, record: dict[str, object]) -> bool:
        sink: list[list[object]] = [[] for _ in range(self._slots)]
        for plan in self._plans:
            if not plan.gather(record, sink):
                return False
        if self._program is None:
            return True
        variables = {f"{_VALUES}{slot}": values for slot, values in enumerate(sink)}
        try:
            return self._program.evaluate(record, variables) is True
        except Exception:  # noqa: BLE001 - the rules one by one report whatever went wrong
            return False


def _message_term(expression: CelRuleExpression) -> str | None:
    guard, body = expression.guard, expression.body.expr
    if _NOW.search(body) or (guard is not None and _NOW.search(guard.expr)):
        return None
    # A newline before each `)`, should an expression end in a `//` comment.
    if guard is None:
        return f"({body}\n)"
    return f"(({guard.expr}\n) ? ({body}\n) : true)"


def fuse(
    message_rules: Sequence[CelRuleExpression], field_plans: Sequence[FieldPlan | None]
) -> tuple[FusedCheck | None, frozenset[int], frozenset[int]]:
    """A check for as many of these rules as can share one evaluation, and the indexes of the
    message rules and of the field rules it covers; no check when fewer than two can."""
    terms: list[str] = []
    messages: set[int] = set()
    for index, expression in enumerate(message_rules):
        term = _message_term(expression)
        if term is not None:
            terms.append(term)
            messages.add(index)
    plans: list[FieldPlan] = []
    fields: set[int] = set()
    slot = 0
    for index, plan in enumerate(field_plans):
        if plan is None or not plan.fusable:
            continue
        for body in plan.bodies:
            assert body.term is not None
            body.slot = slot
            terms.append(body.term(f"{_VALUES}{slot}"))
            slot += 1
        plans.append(plan)
        fields.add(index)
    if len(messages) + len(fields) < 2:
        return None, frozenset(), frozenset()
    try:
        program = CelProgram.compile(" && ".join(terms), "<fused rules>") if terms else None
    except RuleCompileError:
        return None, frozenset(), frozenset()
    return FusedCheck(program, tuple(plans), slot), frozenset(messages), frozenset(fields)
