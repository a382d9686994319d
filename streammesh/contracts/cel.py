"""Compiled CEL programs on Google's C++ CEL runtime (`cel-expr-python`).

Records are bound the way confluent-kafka's own `CelExecutor` binds them (its
`cel_executor._value_to_cel`), so a rule gives the same verdict here as in any confluent client.
Where cel-python keeps a Python object the C++ runtime cannot hold, the nearest CEL value is used:

| Python / Avro value                     | cel-python (confluent)    | here                       |
|-----------------------------------------|---------------------------|----------------------------|
| dict (record, map)                      | map                       | map                        |
| list (array)                            | list                      | list                       |
| str, enum symbol, uuid.UUID             | string                    | string                     |
| bytes (bytes, fixed)                    | bytes                     | bytes                      |
| bool / int (int, long) / float          | bool / int / double       | bool / int / double        |
| None                                    | null                      | null                       |
| datetime (timestamp-*)                  | timestamp (naive = UTC)   | timestamp (naive = UTC)    |
| timedelta                               | duration                  | duration                   |
| date (date)                             | int, days since epoch     | int, days since epoch      |
| Decimal (decimal)                       | the Decimal itself        | double                     |
| time (time-millis, time-micros)         | the time itself           | duration since midnight    |
| (branch, value) union notation          | the tuple itself          | the value                  |

Of confluent's CEL extensions only `decimal(x)` (string, int or double) is provided, returning a
double like the decimals it is compared with; others (`isEmail`, `decimals.*`, ...) are CEL
errors here, which fail the rule.
"""

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from typing import Final, final

from cel_expr_python import cel

# protobuf ships no py.typed marker; these two messages are CEL's timestamp and duration.
from google.protobuf import duration_pb2, timestamp_pb2  # type: ignore[import-untyped]

from streammesh.contracts.errors import RuleCompileError, RuleEvaluationError

__all__ = [
    "PLAIN_TYPES",
    "CelProgram",
    "CelRuleExpression",
    "bound_field",
    "compile_rule_expression",
    "serialized_parse",
    "to_cel",
    "with_field_as",
]

MESSAGE: Final = "message"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAYS: Final = date(1970, 1, 1).toordinal()
_MICROSECOND: Final = timedelta(microseconds=1)
_PLAIN: Final = frozenset({str, int, float, bool, bytes, type(None)})
PLAIN_TYPES: Final = _PLAIN  # the types `to_cel` binds as they are


def _timestamp(value: datetime) -> object:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    micros = (value - _EPOCH) // _MICROSECOND
    return timestamp_pb2.Timestamp(seconds=micros // 1_000_000, nanos=micros % 1_000_000 * 1000)


def _duration(value: timedelta) -> object:
    micros = value // _MICROSECOND
    # Duration's seconds and nanos share a sign, unlike floor division's.
    seconds = int(micros / 1_000_000)
    return duration_pb2.Duration(seconds=seconds, nanos=(micros - seconds * 1_000_000) * 1000)


def _convert_other(value: object) -> object:
    # `to_cel` inlined for items: records and arrays are most of a record's binding time.
    if isinstance(value, dict):
        return {
            key: item if type(item) in _PLAIN else _convert_other(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [item if type(item) in _PLAIN else _convert_other(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return _timestamp(value)
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, date):
        return value.toordinal() - _EPOCH_DAYS
    if isinstance(value, time):
        since_midnight = timedelta(
            hours=value.hour, minutes=value.minute, seconds=value.second
        ) + timedelta(microseconds=value.microsecond)
        return _duration(since_midnight)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return to_cel(value[1])
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    for kind in (bool, int, float, str):  # subclasses such as enum.IntEnum, enum.StrEnum
        if isinstance(value, kind):
            return kind(value)
    return value


def to_cel(value: object) -> object:
    """Converts a decoded Avro value (as fastavro or a producer gives it) to a CEL value."""
    if type(value) in _PLAIN:
        return value
    return _convert_other(value)


# `message.<field>` everywhere `message` is named lets a program bind only those fields; any
# other use (`message[...]`, `size(message)`, a string literal, ...) binds the whole record.
_MESSAGE_NAME = re.compile(r"(?<![\w.])message\b")
_MESSAGE_FIELD = re.compile(r"(?<![\w.])message\s*\.\s*([A-Za-z_]\w*)\b(?!\s*\()")
# A field read only by `size(message.f)` or `message.f.size()` needs its size, not its items.
_SIZE_OF_FIELD = re.compile(
    r"(?:(?<![\w.])size\s*\(\s*message\s*\.\s*([A-Za-z_]\w*)\s*\)"
    r"|(?<![\w.])message\s*\.\s*([A-Za-z_]\w*)\s*\.\s*size\s*\(\s*\))"
)


def _referenced_fields(expr: str) -> frozenset[str] | None:
    fields = _MESSAGE_FIELD.findall(expr)
    if len(fields) != len(_MESSAGE_NAME.findall(expr)):
        return None
    return frozenset(fields)


def _code_spans(text: str) -> list[tuple[int, int]] | None:
    """(start, end) of the parts of CEL `text` outside string literals and `//` comments; None
    when a literal does not end."""
    spans: list[tuple[int, int]] = []
    start = index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("//", index):
            spans.append((start, index))
            end = text.find("\n", index)
            index = start = len(text) if end < 0 else end
        elif char in "'\"":
            prefix = index
            while prefix > start and text[prefix - 1] in "rRbB":
                prefix -= 1
            raw = "r" in text[prefix:index].lower()
            quote = text[index : index + 3] if text[index : index + 3] in ("'''", '"""') else char
            spans.append((start, index))
            index += len(quote)
            while not text.startswith(quote, index):
                if index >= len(text):
                    return None
                index += 2 if text[index] == "\\" and not raw else 1
            index = start = index + len(quote)
        else:
            index += 1
    spans.append((start, len(text)))
    return spans


def with_field_as(expr: str, field: str, placeholder: str) -> str | None:
    """`expr` with each `message.<field>` outside string literals and comments written as
    `placeholder`; None when `message` is named there in any other way, or the text cannot be
    read."""
    spans = _code_spans(expr)
    if spans is None:
        return None
    parts: list[str] = []
    last = 0
    for start, end in spans:
        code = expr[start:end]
        mentions = _MESSAGE_NAME.findall(code)
        matches = [m for m in _MESSAGE_FIELD.finditer(code) if m.group(1) == field]
        if len(matches) != len(mentions):
            return None
        parts.append(expr[last:start])
        parts.append(_MESSAGE_FIELD.sub(lambda m: placeholder, code))
        last = end
    parts.append(expr[last:])
    return "".join(parts)


def bound_field(value: object, sized: bool) -> object:
    """A field's value as `CelProgram.bind` binds it: only its shape when it is read only by
    `size()`."""
    return _shape(value) if sized else to_cel(value)


def _sized_fields(expr: str, fields: frozenset[str]) -> frozenset[str]:
    """The referenced fields every mention of which is a `size()` of it."""
    sized = [a or b for a, b in _SIZE_OF_FIELD.findall(expr)]
    mentions = _MESSAGE_FIELD.findall(expr)
    return frozenset(f for f in fields if sized.count(f) == mentions.count(f))


def _shape(value: object) -> object:
    # What `size()` reads of a value: a list's or map's length (keys are what a map's size
    # counts), a string or bytes as they are; anything else binds in full.
    kind = type(value)
    if kind is list:
        return [None] * len(value)  # type: ignore[arg-type]
    if kind is dict:
        return dict.fromkeys(value)  # type: ignore[call-overload]
    return to_cel(value)


def _decimal(value: object) -> float:
    if isinstance(value, str):
        return float(Decimal(value))  # a ValueError becomes a CEL error, failing the rule
    assert isinstance(value, int | float)
    return float(value)


@cache
def _env() -> cel.Env:
    overloads = [
        cel.Overload(f"decimal_{kind.name().lower()}", cel.Type.DOUBLE, [kind], impl=_decimal)
        for kind in (cel.Type.STRING, cel.Type.INT, cel.Type.DOUBLE)
    ]
    return cel.NewEnv(functions=[cel.FunctionDecl("decimal", overloads)])


@final
class CelProgram:
    """One CEL expression compiled once; get instances from `CelProgram.compile`."""

    __slots__ = ("_bind", "_program", "_uses_now", "expr", "fields", "sized")

    def __init__(self, expr: str, program: cel.Expression) -> None:
        self.expr = expr
        self._program = program
        # confluent binds `now` only when the text mentions it, fresh for every evaluation.
        self._uses_now = "now" in expr
        #: The record's fields the program reads (`message.<field>`), None for the whole record.
        self.fields = _referenced_fields(expr)
        #: The fields of `fields` read only by `size()`: of those, only the size is bound.
        self.sized = _sized_fields(expr, self.fields or frozenset())
        self._bind = _binder(self.fields, self.sized)

    @staticmethod
    def compile(expr: str, rule: str = "<expression>") -> "CelProgram":
        """The compiled program for `expr`, cached by its text.

        Raises `RuleCompileError` naming `rule` and the CEL error when it does not compile.
        """
        try:
            return _compile(expr)
        except RuntimeError as exc:
            raise RuleCompileError(rule, expr, str(exc)) from None

    def evaluate(self, message: object, variables: Mapping[str, object] | None = None) -> object:
        """Evaluates with `message` bound to the record and `variables` to further names.

        Returns the result as a plain Python value; raises `RuleEvaluationError` when the
        expression evaluates to a CEL error, which confluent counts as a failed rule.
        """
        data: dict[str, object] = {MESSAGE: self._bind(message)}
        if variables:
            for name, value in variables.items():
                data[name] = to_cel(value)
        return self.run(data)

    def reads(self, path: tuple[str, ...]) -> bool:
        """Whether an evaluation may read the record's value at `path` (field names from the
        record down, array items and map values taking none): a field it binds, unless the
        field is bound as its size alone and the value lies inside it."""
        fields = self.fields
        if fields is None:
            return True
        return bool(path) and path[0] in fields and (len(path) == 1 or path[0] not in self.sized)

    def bind(self, message: object) -> object:
        """`message` as `evaluate` binds it: only the fields the program reads, when it names
        them all as `message.<field>`, and of a field read only by `size()` only its shape."""
        return self._bind(message)

    def run(self, data: dict[str, object]) -> object:
        """Evaluates with `data` already made of CEL values (`to_cel`, `bind`); results and
        errors as `evaluate`."""
        if self._uses_now and "now" not in data:
            data["now"] = _timestamp(datetime.now(UTC))
        try:
            result = self._program.eval(data=data)
        except RuntimeError as exc:  # values the runtime refuses to bind
            raise RuleEvaluationError(self.expr, str(exc)) from None
        value = result.value()
        if value is True or value is False:
            return value
        if result.type() == cel.Type.ERROR:
            raise RuleEvaluationError(self.expr, str(value))
        return result.plain_value()


def _binder(fields: frozenset[str] | None, sized: frozenset[str]) -> Callable[[object], object]:
    if fields is None:
        return to_cel
    whole = fields - sized

    def bind(message: object) -> object:
        if not isinstance(message, Mapping):
            return to_cel(message)
        bound = {name: to_cel(message[name]) for name in whole if name in message}
        for name in sized:
            if name in message:
                bound[name] = _shape(message[name])
        return bound

    return bind


@lru_cache(maxsize=4096)
def _compile(expr: str) -> CelProgram:
    return CelProgram(expr, _env().compile(expr, disable_check=True))


def serialized_parse(expr: str) -> bytes:
    """The runtime's parse of `expr`, serialized: a `google.protobuf.Any` holding a
    `cel.expr.ParsedExpr` (`cost.py` reads it). Raises `RuntimeError` when it does not parse."""
    return _compile(expr)._program.serialize()  # the program rules run, compiled once


@final
class CelRuleExpression:
    """A rule's `expr` as confluent reads it: an optional guard, a `;`, then the expression.

    When the guard is falsy the rule does not apply: a CONDITION holds, a TRANSFORM keeps the
    value.
    """

    __slots__ = ("body", "guard")

    def __init__(self, guard: CelProgram | None, body: CelProgram) -> None:
        self.guard = guard
        self.body = body

    def reads(self, path: tuple[str, ...]) -> bool:
        """Whether guard or body may read the record's value at `path` (`CelProgram.reads`)."""
        return self.body.reads(path) or (self.guard is not None and self.guard.reads(path))

    def applies(self, message: object, variables: Mapping[str, object] | None = None) -> bool:
        return self.guard is None or bool(self.guard.evaluate(message, variables))


@lru_cache(maxsize=4096)
def _rule_expression(expr: str, rule: str) -> CelRuleExpression:
    guard, sep, body = expr.partition(";")
    if not sep:
        return CelRuleExpression(None, CelProgram.compile(expr, rule))
    guard_program = CelProgram.compile(guard, rule) if guard.strip() else None
    return CelRuleExpression(guard_program, CelProgram.compile(body, rule))


def compile_rule_expression(expr: str, rule: str = "<expression>") -> CelRuleExpression:
    """Compiles a rule's `[guard;] expression`, cached; raises `RuleCompileError`."""
    return _rule_expression(expr, rule)
