"""A static bound on the work one evaluation of a rule's CEL can do, checked when it is declared.

The C++ runtime bounds every evaluation in two ways that `cel-expr-python` does not let us change
or read: an expression is at most 100,000 code points, and one evaluation runs at most 10,000
comprehension iterations in all (past that it is a CEL error, so the rule fails). Nothing bounds
the work *within* an iteration: a literal list is built again on every one, and `x in [...]`
scans it, so `[9000 items].all(x, x in [8000 items])` stays under the budget and takes seconds
on every record, in every producer, consumer and in the quality monitor.

`rule_cost` counts, from the runtime's own parse of the expression, an upper bound on the steps
one evaluation takes, whatever the record holds:

- every node of the expression is one step each time it is evaluated; a node inside a
  comprehension is evaluated once per iteration of the comprehensions around it: as many as
  the items of a literal range, `ITERATION_BUDGET` for a range read from the record, and never
  more than `ITERATION_BUDGET` in all;
- a call over literals (`in`, `==`, `+`, `matches`, ...) also costs the size of each literal it
  is given (items of a list or map, characters of a string), as it may read all of it.

Work that depends only on the record (scanning a long string field) is bounded by the record,
not by the rule, and is not counted. The bound is conservative: at `MAX_RULE_COST` the
dearest expressions (a literal scanned in a loop over a literal) evaluate in about 30 ms, most
in a few.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from streammesh.contracts.cel import serialized_parse
from streammesh.contracts.errors import RuleCompileError, RuleCostError

__all__ = [
    "ITERATION_BUDGET",
    "MAX_EXPR_LENGTH",
    "MAX_RULE_COST",
    "check_rule_cost",
    "rule_cost",
]

ITERATION_BUDGET: Final = 10_000
"""The runtime's own bound on comprehension iterations in one evaluation."""
MAX_RULE_COST: Final = 1_000_000
"""The most steps one evaluation of a rule (guard and expression) may be bounded by."""
MAX_EXPR_LENGTH: Final = 8192
"""The longest rule expression, in characters: parsing is linear but not free, and the catalog
wraps a descriptor's quality rule (at most 4096) in a field guard."""

# The runtime's parse is a google.protobuf.Any (its `value` is field 2) holding a
# cel.expr.ParsedExpr (its `expr` is field 2); cel.expr.Expr's fields are cel-spec's syntax.proto.
_VALUE = _EXPR = 2
_CONST, _SELECT, _CALL, _LIST, _STRUCT, _COMPREHENSION = 3, 5, 6, 7, 8, 9
_STRING_VALUE, _BYTES_VALUE = 6, 7
_MAX_DEPTH: Final = 200  # the parser stops at 32 levels; macros add a few


@dataclass(frozen=True, slots=True)
class _Measure:
    steps: int
    size: int | None  # items or characters when the value is a literal's, else None


def rule_cost(expr: str) -> int:
    """The bound on the steps one evaluation of `expr` (`[guard ;] expression`) takes.

    Raises `RuleCompileError` when a part does not parse.
    """
    guard, separator, body = expr.partition(";")
    parts = (guard, body) if separator else (expr,)
    return sum(_cost(part) for part in parts if part.strip())


def check_rule_cost(expr: str, rule: str = "<expression>", limit: int = MAX_RULE_COST) -> int:
    """`rule_cost(expr)`, raising `RuleCostError` when it is too long or costs over `limit`;
    the length is checked before anything parses it."""
    if len(expr) > MAX_EXPR_LENGTH:
        raise RuleCostError(
            rule, f"its expression is {len(expr)} characters long, more than {MAX_EXPR_LENGTH}"
        )
    cost = rule_cost(expr)
    if cost > limit:
        raise RuleCostError(
            rule,
            f"one evaluation may take {cost:,} steps, more than {limit:,}: iterate over fewer "
            "or smaller literal lists, or move literals out of comprehensions",
        )
    return cost


@lru_cache(maxsize=1024)
def _cost(expr: str) -> int:
    try:
        parse = memoryview(serialized_parse(expr))
    except RuntimeError as exc:
        raise RuleCompileError("<expression>", expr, str(exc)) from None
    for _, parsed in _messages(parse, _VALUE):
        for _, tree in _messages(parsed, _EXPR):
            return _measure(tree, 1, 0).steps
    return 1  # an empty parse


def _measure(node: memoryview, times: int, depth: int) -> _Measure:
    """The steps of evaluating `node` `times` times, and its literal size."""
    if depth > _MAX_DEPTH:
        raise RuleCompileError("<expression>", "", "the expression is nested too deeply")
    for number, value in _fields(node):
        if not isinstance(value, memoryview):
            continue
        if number == _CONST:
            return _Measure(times, _constant_size(value))
        if number == _SELECT:
            steps = sum(_measure(v, times, depth + 1).steps for n, v in _messages(value, 1))
            return _Measure(times + steps, None)
        if number == _CALL:
            return _call(value, times, depth)
        if number == _LIST:
            items = [_measure(v, times, depth + 1) for _, v in _messages(value, 1)]
            return _Measure(times + sum(m.steps for m in items), len(items))
        if number == _STRUCT:
            entries = list(_messages(value, 2))
            steps = sum(
                _measure(v, times, depth + 2).steps
                for _, entry in entries
                for _, v in _messages(entry, 3, 4)
            )
            return _Measure(times + steps, len(entries))
        if number == _COMPREHENSION:
            return _comprehension(value, times, depth)
    return _Measure(times, None)  # an identifier


def _call(call: memoryview, times: int, depth: int) -> _Measure:
    operands = [_measure(v, times, depth + 1) for _, v in _messages(call, 1, 3)]
    read = sum(m.size or 0 for m in operands)
    steps = times * (1 + read) + sum(m.steps for m in operands)
    sizes = [m.size for m in operands]
    function = next((bytes(v) for _, v in _messages(call, 2)), b"")
    size = None
    if function == b"_+_" and None not in sizes:
        size = sum(s for s in sizes if s is not None)
    elif function == b"_?_:_" and len(sizes) == 3 and sizes[1] is not None and sizes[2] is not None:
        size = max(sizes[1], sizes[2])
    return _Measure(steps, size)


def _comprehension(loop: memoryview, times: int, depth: int) -> _Measure:
    parts = dict(_messages(loop, 2, 4, 5, 6, 7))
    outside = [_measure(parts[n], times, depth + 1) for n in (2, 4, 7) if n in parts]
    items = outside[0].size if 2 in parts else 0
    # Each iteration evaluates the condition and the step once; the runtime stops at its budget.
    inside = min(ITERATION_BUDGET, times * (ITERATION_BUDGET if items is None else items))
    steps = times + sum(m.steps for m in outside)
    steps += sum(_measure(parts[n], inside, depth + 1).steps for n in (5, 6) if n in parts)
    return _Measure(steps, items)  # map and filter give at most as many items as they read


def _constant_size(constant: memoryview) -> int | None:
    for number, value in _fields(constant):
        if number in (_STRING_VALUE, _BYTES_VALUE) and isinstance(value, memoryview):
            return len(value)
    return None


def _messages(message: memoryview, *numbers: int) -> Iterator[tuple[int, memoryview]]:
    """The length-delimited fields of `message` numbered `numbers`, in order."""
    for number, value in _fields(message):
        if number in numbers and isinstance(value, memoryview):
            yield number, value


def _fields(message: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(number, value) of each field of a serialized protobuf message: a varint as an int, a
    length-delimited field as its bytes; fixed-width fields (doubles) as their bytes too."""
    index = 0
    while index < len(message):
        key, index = _varint(message, index)
        number, wire = key >> 3, key & 7
        if wire == 0:
            varint, index = _varint(message, index)
            yield number, varint
            continue
        if wire == 2:
            length, index = _varint(message, index)
        elif wire in (1, 5):
            length = 8 if wire == 1 else 4
        else:
            raise RuleCompileError("<expression>", "", f"unexpected wire type {wire}")
        yield number, message[index : index + length]
        index += length


def _varint(data: memoryview, index: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index
        shift += 7
