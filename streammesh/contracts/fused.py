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

Many records at once (`FusedCheck.suspects`) share even that evaluation: one `filter` over the
batch names the records the conjunction does not clear. What is known of values that passed
(`streammesh.contracts.memo`) spares more: a record whose values the memos all clear skips the
evaluation, and each distinct value is evaluated once. The check keeps one memo per body and
asks it; which values can be kept, and the message-rule memos, are that module's.
"""

import re
from collections.abc import Sequence
from typing import Final, final

from streammesh.contracts.cel import CelProgram, CelRuleExpression, to_cel
from streammesh.contracts.errors import RuleCompileError, RuleEvaluationError
from streammesh.contracts.fields import FieldPlan
from streammesh.contracts.memo import (
    CANDIDATES,
    CHUNK,
    EXACT_TYPES,
    MEMO_LIMIT,
    MEMO_TYPES,
    RESERVED,
    Memo,
    MessageMemo,
    compiled,
    learner,
    memoizable,
    message_memo,
    recall,
)

__all__ = ["FusedCheck", "fuse"]

_NOW: Final = re.compile(r"\bnow\b")
_VALUES: Final = "__streammesh_fused_"
_BATCH: Final = "__streammesh_batch"
_INDEX: Final = "__streammesh_index"


@final
class FusedCheck:
    """Whether a record certainly passes the rules `fuse` took; False means "ask each rule"."""

    __slots__ = (
        "_batch",
        "_bodies",
        "_learners",
        "_memos",
        "_message_memos",
        "_messages_batch",
        "_plans",
        "_program",
        "_slots",
    )

    def __init__(
        self,
        program: CelProgram | None,
        plans: tuple[FieldPlan, ...],
        slots: int,
        batch: tuple[CelProgram, CelProgram | None] | None = None,
        message_memos: tuple[MessageMemo, ...] | None = None,
    ) -> None:
        self._program = program
        # One per message rule taken, when each reads a single field; else None.
        self._message_memos = message_memos
        self._plans = plans
        self._slots = slots
        # Over a batch: every rule taken, and the message rules alone for the records whose
        # bodies' values the memos cleared (None when there are none: those records pass).
        self._batch: CelProgram | None = None
        self._messages_batch: CelProgram | None = None
        if batch is not None:
            self._batch, self._messages_batch = batch
        bodies = {body.slot: body for plan in plans for body in plan.bodies}
        self._bodies = tuple(bodies[slot] for slot in range(slots))
        self._learners = tuple(learner(body) for body in self._bodies)
        self._memos: tuple[Memo, ...] = tuple({kind: {} for kind in MEMO_TYPES} for _ in bodies)

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

    def suspects(self, records: Sequence[object]) -> list[int]:
        """Indexes of the `records` not cleared, ascending: every other record certainly passes
        each rule the check took, exactly when `passes` would say so of it alone."""
        if self._batch is None:
            return [
                n for n, r in enumerate(records) if not isinstance(r, dict) or not self.passes(r)
            ]
        columnar = self._columnar(records)
        if columnar is not None:
            return columnar
        suspects: list[int] = []
        cleared, unsure = self._gather(records, suspects)
        assert self._program is not None
        assert self._batch is not None
        bind = self._program.bind
        elements: list[dict[str, object]] = []
        for index, record, sink in unsure:
            residue = self._residue(sink)
            if residue is None:
                suspects.append(index)
            elif any(residue):
                element = bind(record)
                assert isinstance(element, dict)  # a record binds as the map of its fields
                element[_INDEX] = index
                for slot, rest in enumerate(residue):
                    element[f"{_VALUES}{slot}"] = rest
                elements.append(element)
            else:
                cleared.append((index, record))
        suspects += self._failing(self._batch, elements)
        if self._messages_batch is not None and cleared:
            suspects += self._failing_messages(self._messages_batch, cleared)
        suspects.sort()
        return suspects

    def _columnar(self, records: Sequence[object]) -> list[int] | None:
        """`suspects`, with each body's values of the whole batch taken field by field and told
        apart by the memos as sets: per record, only the message memos are asked. None when the
        batch needs the record-by-record path: a record that is no dict, a plan shape or value
        type this does not take, a value that may fail whatever the bodies give."""
        if not all(type(record) is dict for record in records):
            return None
        batch: list[dict[str, object]] = records  # type: ignore[assignment]
        columns: list[list[object]] = [[] for _ in range(self._slots)]
        for plan in self._plans:
            if not plan.gather_columns(batch, columns):
                return None
        failing: list[set[tuple[type, object]]] = []
        for slot, column in enumerate(columns):
            found = self._failing_values(slot, column)
            if found is None:
                return None
            failing.append(found)
        suspects = self._owners(batch, failing) if any(failing) else []
        if self._messages_batch is not None:
            refused = set(suspects)
            cleared = [(n, record) for n, record in enumerate(batch) if n not in refused]
            if cleared:
                suspects += self._failing_messages(self._messages_batch, cleared)
                suspects.sort()
        return suspects

    def _failing_values(self, slot: int, column: list[object]) -> set[tuple[type, object]] | None:
        """The values of `column` the body of `slot` fails on, each with its type, evaluating
        (and keeping) those the memo does not know; None for values the memo cannot keep."""
        if not column:
            return set()
        kinds = set(map(type, column))
        if not kinds <= EXACT_TYPES:
            return None
        memo = self._memos[slot]
        failing: set[tuple[type, object]] = set()
        for kind in kinds:
            table = memo[kind]
            distinct = set(column) if len(kinds) == 1 else {v for v in column if type(v) is kind}
            unknown = [value for value in distinct if value not in table]
            if unknown:
                self._learn(slot, unknown)
                if any(value not in table for value in distinct):
                    return None  # the memo filled up and started again meanwhile
            failing.update((kind, value) for value in distinct if not table[value])
        return failing

    def _owners(
        self, records: list[dict[str, object]], failing: list[set[tuple[type, object]]]
    ) -> list[int]:
        """Indexes of the records with a value a body fails on, gathered record by record."""
        owners: list[int] = []
        for index, record in enumerate(records):
            sink: list[list[object]] = [[] for _ in range(self._slots)]
            for plan in self._plans:
                plan.gather(record, sink)
            if any(
                (type(value), value) in failing[slot]
                for slot, values in enumerate(sink)
                if failing[slot]
                for value in values
            ):
                owners.append(index)
        return owners

    def _failing_messages(
        self, program: CelProgram, cleared: list[tuple[int, dict[str, object]]]
    ) -> list[int]:
        """Of records whose field rules pass, those the message rules do not clear: one
        evaluation over those with values the message memos do not know, learning from it."""
        assert self._program is not None
        bind, memos = self._program.bind, self._message_memos
        elements: list[dict[str, object]] = []
        unknown: list[dict[str, object]] = []
        failing_rows: list[int] = []
        if memos is not None and all(memo.program is not None for memo in memos):
            # Each rule over the distinct values its memo does not know; only records with a
            # value no memo can keep (a zero, an absent field) are bound whole below.
            records = [record for _, record in cleared]
            failed: set[int] = set()
            unsure: set[int] = set()
            for memo in memos:
                failed.update(memo.failing(records, unsure))
            failing_rows = [cleared[n][0] for n in sorted(failed)]
            cleared = [cleared[n] for n in sorted(unsure - failed)]
        elif memos is not None:
            # Whose values some memo does not know, memo by memo over all the records at once.
            records = [record for _, record in cleared]
            missed = {
                n
                for memo in memos
                for n, key in enumerate(memo.keys(records))
                if key is None or key not in memo.known
            }
            cleared = [cleared[n] for n in sorted(missed)]
        for index, record in cleared:
            if memos is not None:
                unknown.append(record)
            element = bind(record)
            assert isinstance(element, dict)
            element[_INDEX] = index
            elements.append(element)
        failing = self._failing(program, elements)
        if memos is not None and unknown:
            refused = set(failing)
            for element, record in zip(elements, unknown, strict=True):
                if element[_INDEX] not in refused:  # every message rule passed on them
                    for memo in memos:
                        memo.passed(record)
        if failing_rows:
            failing = sorted({*failing, *failing_rows})
        return failing

    def _gather(
        self, records: Sequence[object], suspects: list[int]
    ) -> tuple[
        list[tuple[int, dict[str, object]]], list[tuple[int, dict[str, object], list[list[object]]]]
    ]:
        """The records whose bodies' values the memos all clear, and those with values they do
        not know (each new value is evaluated and kept before this returns) or cannot keep;
        records a body already fails, or whose rules no body can clear, go to `suspects`."""
        slots, plans, memos = self._slots, self._plans, self._memos
        cleared: list[tuple[int, dict[str, object]]] = []
        unsure: list[tuple[int, dict[str, object], list[list[object]]]] = []
        unknown: list[dict[tuple[type, object], object]] = [{} for _ in range(slots)]
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                suspects.append(index)
                continue
            sink: list[list[object]] = [[] for _ in range(slots)]
            passed = True
            for plan in plans:
                if not plan.gather(record, sink):
                    passed = False
                    break
            verdict = recall(memos, sink, unknown) if passed else False
            if verdict is None:
                unsure.append((index, record, sink))
            elif verdict:
                cleared.append((index, record))
            else:
                suspects.append(index)
        for slot, new in enumerate(unknown):
            if new:
                self._learn(slot, list(new.values()))
        return cleared, unsure

    def _residue(self, sink: list[list[object]]) -> list[list[object]] | None:
        """Per body, the values its memo cannot clear, as CEL values; None when one fails."""
        residue: list[list[object]] = []
        for slot, values in enumerate(sink):
            memo = self._memos[slot]
            rest: list[object] = []
            for value in values:
                table = memo.get(type(value))
                verdict = None if table is None else table.get(value)
                if verdict is None or not memoizable(value):
                    rest.append(to_cel(value))
                elif not verdict:
                    return None
            residue.append(rest)
        return residue

    def _learn(self, slot: int, values: list[object]) -> None:
        """Evaluates the body of `slot` once on each of `values` and keeps each verdict."""
        body = self._bodies[slot]
        memo = self._memos[slot]
        learner = self._learners[slot]
        failing: set[int] | None = None
        if learner is not None:
            candidates = [{"v": to_cel(v), "i": n} for n, v in enumerate(values)]
            try:
                found = learner.run({CANDIDATES: candidates})
            except RuleEvaluationError:
                found = None  # some value gives an error: each is asked on its own
            if isinstance(found, list):
                failing = {int(n) for n in found}
        for n, value in enumerate(values):
            clears = body.passes_all([value]) if failing is None else n not in failing
            table = memo[type(value)]
            if len(table) >= MEMO_LIMIT:
                table.clear()
            table[value] = clears

    @staticmethod
    def _failing(program: CelProgram, elements: list[dict[str, object]]) -> list[int]:
        """Indexes of the elements `program` does not find true."""
        if not elements:
            return []
        try:
            found = program.run({_BATCH: elements})
        except RuleEvaluationError:
            if len(elements) > CHUNK:
                chunks = [elements[n : n + CHUNK] for n in range(0, len(elements), CHUNK)]
                return [n for chunk in chunks for n in FusedCheck._failing(program, chunk)]
            return [n for element in elements for n in _failing_one(program, element)]
        assert isinstance(found, list)
        return [int(n) for n in found]


def _failing_one(program: CelProgram, element: dict[str, object]) -> list[int]:
    index = element[_INDEX]
    assert isinstance(index, int)
    try:
        found = program.run({_BATCH: [element]})
    except RuleEvaluationError:
        return [index]
    return [index] if found else []


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
    batch_terms: list[str] = []  # the same, with each body's values a field of the element
    messages: set[int] = set()
    for index, expression in enumerate(message_rules):
        term = _message_term(expression)
        if term is not None:
            terms.append(term)
            batch_terms.append(term)
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
            batch_terms.append(body.term(f"message.{_VALUES}{slot}"))
            slot += 1
        plans.append(plan)
        fields.add(index)
    if len(messages) + len(fields) < 2:
        return None, frozenset(), frozenset()
    try:
        program = CelProgram.compile(" && ".join(terms), "<fused rules>") if terms else None
    except RuleCompileError:
        return None, frozenset(), frozenset()
    whole = _batch_program(program, batch_terms)
    messages_only = batch_terms[: len(messages)]
    alone = _batch_program(program, messages_only) if messages_only else None
    batch = None if whole is None or (messages_only and alone is None) else (whole, alone)
    memos = [message_memo(term) for term in messages_only]
    message_memos = tuple(m for m in memos if m is not None)
    check = FusedCheck(
        program,
        tuple(plans),
        slot,
        batch,
        message_memos if messages_only and len(message_memos) == len(memos) else None,
    )
    return check, frozenset(messages), frozenset(fields)


def _batch_program(program: CelProgram | None, terms: Sequence[str]) -> CelProgram | None:
    """The fused conjunction over a list of records, each bound as a map of the fields it reads
    plus its bodies' values and its index, naming the indexes it does not find true. None when
    a record must bind whole (the added keys would show) or names a key of ours."""
    if program is None or program.fields is None:
        return None
    if any(name.startswith(RESERVED) for name in program.fields):
        return None
    conjunction = " && ".join(terms)
    text = f"{_BATCH}.filter(message, !(({conjunction}\n) == true)).map(message, message.{_INDEX})"
    return compiled(text, "<fused rules>")
