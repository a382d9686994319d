"""What is known of values that passed, so a fused check evaluates each distinct value once.

A field rule's body over one value is a pure function of that value, so its verdict per value is
kept (a bounded memo, one table per Python type, so `1`, `1.0` and `True` stay apart) and each
distinct value is evaluated once. So is a message rule's that reads one field only
(`message.amount >= 0.0`, or only its size, `size(message.line_items) > 0`): when every message
rule does, a record whose field values are all known to pass skips the evaluation; the values of
the records the batch's `filter` clears are learnt from it, at no cost of their own.

Over a batch, values are told apart field by field rather than record by record: each body's
values of the whole batch are gathered at once (`FieldPlan.gather_columns`) and their distinct
values looked up in its memo as a set; a one-field message rule is rewritten over a list of its
field's values (`message.amount >= 0.0` becomes a `filter` over the amounts), so the values it
does not know are evaluated without binding their records. Where values seldom repeat, the
message memo is left aside for a while and every value evaluated: cheaper than looking them up.

This module holds which values can be kept and for how long, the per-value lookup (`recall`),
the message-rule memo (`MessageMemo`) and the programs that evaluate many values at once. The
per-body tables themselves belong to each `FusedCheck` (`streammesh.contracts.fused`), which
fills them as it evaluates; it imports from here, never the other way round, so the names both
use (the reserved variable prefix, the error chunk size, `compiled`) are defined here.
"""

import math
from collections.abc import Hashable
from decimal import Decimal
from typing import Final, final

from streammesh.contracts.cel import PLAIN_TYPES, CelProgram, bound_field, with_field_as
from streammesh.contracts.errors import RuleCompileError, RuleEvaluationError
from streammesh.contracts.fields import FieldBody

__all__ = [
    "CANDIDATES",
    "CHUNK",
    "EXACT_TYPES",
    "MEMO_LIMIT",
    "MEMO_TYPES",
    "RESERVED",
    "Memo",
    "MessageMemo",
    "compiled",
    "learner",
    "memoizable",
    "message_memo",
    "recall",
]

RESERVED: Final = "__streammesh_"  # the prefix of every variable of ours a rule could hide
CANDIDATES: Final = "__streammesh_candidates"
_VALUE_LIST: Final = "__streammesh_values"
_INDEXES: Final = "__streammesh_indexes"
_ROW: Final = "__streammesh_row"
# Types whose equal values bind to equal CEL values; floats only away from 0.0 (-0.0 equals it)
# and NaN (equal to nothing).
MEMO_TYPES: Final = (str, int, bytes, bool, float, type(None))
# Memo types whose values are always kept: a batch's values of these are told apart as sets.
EXACT_TYPES: Final = frozenset({str, int, bytes, bool, type(None)})
MEMO_LIMIT: Final = 4096  # values per body and type; a full table starts again empty
# A message memo judged on a batch of at least this many records, and left aside for this many
# batches when it knew fewer than half (`MessageMemo.failing`).
_MEMO_TRIAL: Final = 64
_UNMEMOIZED_BATCHES: Final = 15
# On a CEL error (which `filter` spreads to the whole batch) the batch is split in chunks of
# this size, and a chunk that errors again is checked record by record.
CHUNK: Final = 32

Memo = dict[type, dict[object, bool]]
_ABSENT: Final = object()  # the memo key of a record without the field


def recall(
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
                if table is not None and memoizable(value):
                    unknown[slot][(type(value), value)] = value
            elif not verdict:
                return False
    return True if certain else None


def memoizable(value: object) -> bool:
    return type(value) is not float or not (value == 0.0 or math.isnan(value))


@final
class MessageMemo:
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
                if len(known) >= MEMO_LIMIT:
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
        if kind in MEMO_TYPES:
            return (kind, value) if memoizable(value) else None
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
            if kind in EXACT_TYPES:
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
            if len(self.known) >= MEMO_LIMIT:
                self.known.clear()
            self.known.add(key)


def _failing_values(program: CelProgram, values: list[object]) -> set[int]:
    """Positions of the `values` a value program does not find true; on a CEL error (which
    spreads to the whole list) in chunks, then value by value, where an error fails."""
    indexes = list(range(len(values)))
    try:
        found = program.run({_VALUE_LIST: values, _INDEXES: indexes})
    except RuleEvaluationError:
        if len(values) > CHUNK:
            return {
                start + n
                for start in range(0, len(values), CHUNK)
                for n in _failing_values(program, values[start : start + CHUNK])
            }
        if len(values) == 1:
            return {0}
        return {n for n, value in enumerate(values) if _failing_values(program, [value])}
    assert isinstance(found, list)
    return {int(n) for n in found}


def _value_program(term: str, field: str) -> CelProgram | None:
    """A one-field rule's term over a list of that field's values: the indexes it does not
    find true. None for a rule naming anything of ours, whose variables it could hide."""
    if RESERVED in term:
        return None
    rewritten = with_field_as(term, field, f"{_VALUE_LIST}[{_ROW}]")
    if rewritten is None:
        return None
    return compiled(f"{_INDEXES}.filter({_ROW}, !(({rewritten}\n) == true))", "<memoized rule>")


def message_memo(term: str) -> MessageMemo | None:
    """The memo of a message rule's term when it reads a single field."""
    program = compiled(term, "<memoized rule>")
    if program is None:
        return None
    fields = program.fields
    if fields is None or len(fields) != 1:
        return None
    (name,) = fields
    if name.startswith(RESERVED):
        return None
    return MessageMemo(name, name in program.sized, _value_program(term, name))


def learner(body: FieldBody) -> CelProgram | None:
    """A program naming the indexes of the candidate values a body's `all` term does not clear;
    its candidates are maps of the value (`v`) and its index (`i`)."""
    if body.term is None:
        return None
    item = "__streammesh_item"
    term = body.term(f"[{item}.v]")
    text = f"{CANDIDATES}.filter({item}, !(({term}\n) == true)).map({item}, {item}.i)"
    return compiled(text, "<memoized rule>")


def compiled(text: str, rule: str) -> CelProgram | None:
    """`text` compiled, or None when it does not compile: the check then goes without it."""
    try:
        return CelProgram.compile(text, rule)
    except RuleCompileError:
        return None
