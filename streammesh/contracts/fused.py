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
batch names the records the conjunction does not clear. A field rule's body over one value is a
pure function of that value, so its verdict per value is kept (a bounded memo, one table per
Python type, so `1`, `1.0` and `True` stay apart) and each distinct value is evaluated once.
So is a message rule's that reads one field only (`message.amount >= 0.0`, or only its size,
`size(message.line_items) > 0`): when every message rule does, a record whose field values are
all known to pass skips the evaluation; the values of the records the `filter` clears are
learnt from it, at no cost of their own.

Over a batch, values are told apart field by field rather than record by record: each body's
values of the whole batch are gathered at once (`FieldPlan.gather_columns`) and their distinct
values looked up in its memo as a set; a one-field message rule is rewritten over a list of its
field's values (`message.amount >= 0.0` becomes a `filter` over the amounts), so the values it
does not know are evaluated without binding their records. Where values seldom repeat, the
message memo is left aside for a while and every value evaluated: cheaper than looking them up.
"""

import math
import re
from collections.abc import Hashable, Sequence
from decimal import Decimal
from typing import Final, final

from streammesh.contracts.cel import (
    PLAIN_TYPES,
    CelProgram,
    CelRuleExpression,
    bound_field,
    to_cel,
    with_field_as,
)
from streammesh.contracts.errors import RuleCompileError, RuleEvaluationError
from streammesh.contracts.fields import FieldBody, FieldPlan

__all__ = ["FusedCheck", "fuse"]

_NOW: Final = re.compile(r"\bnow\b")
_VALUES: Final = "__streammesh_fused_"
_RESERVED: Final = "__streammesh_"
_BATCH: Final = "__streammesh_batch"
_INDEX: Final = "__streammesh_index"
_CANDIDATES: Final = "__streammesh_candidates"
_VALUE_LIST: Final = "__streammesh_values"
_INDEXES: Final = "__streammesh_indexes"
_ROW: Final = "__streammesh_row"
# Types whose equal values bind to equal CEL values; floats only away from 0.0 (-0.0 equals it)
# and NaN (equal to nothing).
_MEMO_TYPES: Final = (str, int, bytes, bool, float, type(None))
# Memo types whose values are always kept: a batch's values of these are told apart as sets.
_EXACT_TYPES: Final = frozenset({str, int, bytes, bool, type(None)})
_MEMO_LIMIT: Final = 4096
# A message memo judged on a batch of at least this many records, and left aside for this many
# batches when it knew fewer than half (`_MessageMemo.failing`).
_MEMO_TRIAL: Final = 64
_UNMEMOIZED_BATCHES: Final = 15  # values per body and type; a full table starts again empty
# On a CEL error (which `filter` spreads to the whole batch) the batch is split in chunks of
# this size, and a chunk that errors again is checked record by record.
_CHUNK: Final = 32

Memo = dict[type, dict[object, bool]]
_ABSENT: Final = object()  # the memo key of a record without the field


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
        message_memos: tuple["_MessageMemo", ...] | None = None,
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
        self._learners = tuple(_learner(body) for body in self._bodies)
        self._memos: tuple[Memo, ...] = tuple({kind: {} for kind in _MEMO_TYPES} for _ in bodies)

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
        if not kinds <= _EXACT_TYPES:
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
            verdict = _recall(memos, sink, unknown) if passed else False
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
                if verdict is None or not _memoizable(value):
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
                found = learner.run({_CANDIDATES: candidates})
            except RuleEvaluationError:
                found = None  # some value gives an error: each is asked on its own
            if isinstance(found, list):
                failing = {int(n) for n in found}
        for n, value in enumerate(values):
            clears = body.passes_all([value]) if failing is None else n not in failing
            table = memo[type(value)]
            if len(table) >= _MEMO_LIMIT:
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
            if len(elements) > _CHUNK:
                chunks = [elements[n : n + _CHUNK] for n in range(0, len(elements), _CHUNK)]
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


def _recall(
    memos: tuple[Memo, ...],
    sink: list[list[object]],
    unknown: list[dict[tuple[type, object], object]],
) -> bool | None:
    """Whether the memos clear every value of `sink`: False when one fails, None when some
    are not known (those that can be kept are added to `unknown`)."""
    certain = True
    for slot, values in enumerate(sink):
        memo = memos[slot]
        for value in values:
            table = memo.get(type(value))
            verdict = None if table is None else table.get(value)
            if verdict is None:
                certain = False
                if table is not None and _memoizable(value):
                    unknown[slot][(type(value), value)] = value
            elif not verdict:
                return False
    return True if certain else None


def _memoizable(value: object) -> bool:
    return type(value) is not float or not (value == 0.0 or math.isnan(value))


@final
class _MessageMemo:
    """The values of its one field on which a message rule is known to pass.

    The rule reads `message.<field>` and nothing else (no `now`), so its verdict is a function
    of what that field binds to: the value, or only its size when the rule reads only that.
    Values kept are those whose equal values bind equal: the memo types (floats away from 0.0
    and NaN), and decimals likewise (a decimal binds as its double).
    """

    __slots__ = ("_unmemoized", "field", "known", "program", "sized")

    def __init__(self, field: str, sized: bool, program: CelProgram | None = None) -> None:
        self.field = field
        self.sized = sized
        self.known: set[Hashable] = set()
        # The rule over a list of the field's bound values, naming the indexes it does not
        # find true (`_value_program`); None when the rule's text could not be rewritten so.
        self.program = program
        self._unmemoized = 0  # batches still to check value by value, the memo left aside

    def failing(self, records: list[dict[str, object]], unsure: set[int]) -> list[int]:
        """Rows of `records` whose value the rule does not find true, evaluating each distinct
        value the memo does not know once (and keeping those it passes); rows whose value
        cannot be kept go to `unsure`, for the caller to bind whole.

        Values that seldom repeat (amounts, ids) cost more to look up and keep than to
        evaluate: when the memo knew fewer than half of a batch's values, the next
        `_UNMEMOIZED_BATCHES` batches are evaluated value by value, then the memo is tried
        again."""
        assert self.program is not None
        if self._unmemoized:
            self._unmemoized -= 1
            return self._failing_by_value(records, unsure)
        keys, known = self.keys(records), self.known
        missed = [n for n, key in enumerate(keys) if key is None or key not in known]
        if len(records) >= _MEMO_TRIAL and 2 * len(missed) > len(records):
            self._unmemoized = _UNMEMOIZED_BATCHES
        if not missed:
            return []
        fresh: dict[Hashable, int] = {}
        for n in missed:
            key = keys[n]
            if key is None or key is _ABSENT:
                unsure.add(n)
            elif key not in fresh:
                fresh[key] = n
        if not fresh:
            return []
        name, sized = self.field, self.sized
        values = [bound_field(records[n][name], sized) for n in fresh.values()]
        refused = _failing_values(self.program, values)
        bad = set()
        for position, key in enumerate(fresh):
            if position in refused:
                bad.add(key)
            else:
                if len(known) >= _MEMO_LIMIT:
                    known.clear()
                known.add(key)
        return [n for n in missed if keys[n] in bad] if bad else []

    def key(self, record: dict[str, object]) -> Hashable | None:
        """What the rule's verdict on `record` depends on; None when it cannot be kept."""
        if self.field not in record:
            return _ABSENT
        value = record[self.field]
        kind = type(value)
        if self.sized and (kind is list or kind is dict):
            return (kind, len(value))  # type: ignore[arg-type]
        if kind in _MEMO_TYPES:
            return (kind, value) if _memoizable(value) else None
        if kind is Decimal:
            assert isinstance(value, Decimal)
            return None if value.is_nan() or value.is_zero() else (kind, value)
        return None

    def _failing_by_value(self, records: list[dict[str, object]], unsure: set[int]) -> list[int]:
        """`failing` with every value evaluated, none looked up or kept; only records without
        the field go to `unsure`."""
        assert self.program is not None
        name, sized = self.field, self.sized
        values = [record.get(name, _ABSENT) for record in records]
        kinds = set(map(type, values))
        if len(kinds) == 1 and not sized and (Decimal in kinds or kinds <= PLAIN_TYPES):
            # One type throughout, as decoded records have: bound as `bound_field` would, a
            # decimal as its double, a plain value as it is.
            bound: list[object] = values
            if Decimal in kinds:
                bound = [float(v) for v in values]  # type: ignore[arg-type]
            return sorted(_failing_values(self.program, bound))
        rows = [n for n, value in enumerate(values) if value is not _ABSENT]
        if len(rows) < len(values):
            unsure.update(n for n, value in enumerate(values) if value is _ABSENT)
        bound = [bound_field(values[n], sized) for n in rows]
        return [rows[position] for position in sorted(_failing_values(self.program, bound))]

    def keys(self, records: list[dict[str, object]]) -> list[Hashable | None]:
        """`key` of each record; the common cases (one type of value in the batch) in one
        comprehension."""
        name = self.field
        values = [record.get(name, _ABSENT) for record in records]
        kinds = set(map(type, values))
        if len(kinds) == 1:
            (kind,) = kinds
            if self.sized and (kind is list or kind is dict):
                return [(kind, len(v)) for v in values]  # type: ignore[arg-type]
            if kind in _EXACT_TYPES:
                return [(kind, v) for v in values]
            if kind is Decimal:
                return [
                    None if v.is_nan() or v.is_zero() else (kind, v)  # type: ignore[attr-defined]
                    for v in values
                ]
        return [self.key(record) for record in records]

    def passed(self, record: dict[str, object]) -> None:
        key = self.key(record)
        if key is not None:
            if len(self.known) >= _MEMO_LIMIT:
                self.known.clear()
            self.known.add(key)


def _failing_values(program: CelProgram, values: list[object]) -> set[int]:
    """Positions of the `values` a value program does not find true; on a CEL error (which
    spreads to the whole list) in chunks, then value by value, where an error fails."""
    indexes = list(range(len(values)))
    try:
        found = program.run({_VALUE_LIST: values, _INDEXES: indexes})
    except RuleEvaluationError:
        if len(values) > _CHUNK:
            return {
                start + n
                for start in range(0, len(values), _CHUNK)
                for n in _failing_values(program, values[start : start + _CHUNK])
            }
        if len(values) == 1:
            return {0}
        return {n for n, value in enumerate(values) if _failing_values(program, [value])}
    assert isinstance(found, list)
    return {int(n) for n in found}


def _value_program(term: str, field: str) -> CelProgram | None:
    """A one-field rule's term over a list of that field's values: the indexes it does not
    find true. None for a rule naming anything of ours, whose variables it could hide."""
    if _RESERVED in term:
        return None
    rewritten = with_field_as(term, field, f"{_VALUE_LIST}[{_ROW}]")
    if rewritten is None:
        return None
    return _compiled(f"{_INDEXES}.filter({_ROW}, !(({rewritten}\n) == true))", "<memoized rule>")


def _message_memo(term: str) -> _MessageMemo | None:
    """The memo of a message rule's term when it reads a single field."""
    program = _compiled(term, "<memoized rule>")
    if program is None:
        return None
    fields = program.fields
    if fields is None or len(fields) != 1:
        return None
    (name,) = fields
    if name.startswith(_RESERVED):
        return None
    return _MessageMemo(name, name in program.sized, _value_program(term, name))


def _learner(body: FieldBody) -> CelProgram | None:
    """A program naming the indexes of the candidate values a body's `all` term does not clear;
    its candidates are maps of the value (`v`) and its index (`i`)."""
    if body.term is None:
        return None
    item = "__streammesh_item"
    term = body.term(f"[{item}.v]")
    text = f"{_CANDIDATES}.filter({item}, !(({term}\n) == true)).map({item}, {item}.i)"
    return _compiled(text, "<memoized rule>")


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
    memos = [_message_memo(term) for term in messages_only]
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
    if any(name.startswith(_RESERVED) for name in program.fields):
        return None
    conjunction = " && ".join(terms)
    text = f"{_BATCH}.filter(message, !(({conjunction}\n) == true)).map(message, message.{_INDEX})"
    return _compiled(text, "<fused rules>")


def _compiled(text: str, rule: str) -> CelProgram | None:
    """`text` compiled, or None when it does not compile: the check then goes without it."""
    try:
        return CelProgram.compile(text, rule)
    except RuleCompileError:
        return None
