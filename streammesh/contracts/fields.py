"""CEL_FIELD rules resolved against one Avro schema once, so a record pays only for the bodies.

confluent's field walk (`common.avro.transform` with the rule's field transform) visits every
field of every record for every CEL_FIELD rule and evaluates the rule's guard at each one. Most
of what it decides per field depends on the schema alone: the field's name, full name, type name
and tags, whether the rule's tags select it, whether it is primitive, and, for a guard that reads
only those facts (`fullName == '...'`, `typeName == 'STRING'`), whether the rule applies.
`compile_field_rule` decides that once per schema and returns a plan shaped like the walk:

- a primitive field the guard excludes yields `True`, as confluent's CONDITION does: not visited;
- a field the rule leaves alone (tags that do not match, an enum, a fixed) keeps its value, so it
  fails only when that value is the `False` object: confluent 2.16.1's walk fails a CONDITION
  whenever a field's result `is False`, whichever rule produced it;
- a field the rule applies to runs the body, with the variables confluent binds;
- arrays and maps iterate (one CEL evaluation for all their values where the body allows),
  unions pick their branch per value exactly as confluent does.

A plan with no union the rule applies under, whose bodies read only `value`, can also hand its
bodies' values to a check evaluated once for several rules (`streammesh.contracts.fused`).

A rule whose guard reads `value`, `message` or `now`, or whose guard fails on some field, gets no
plan: it keeps confluent's walk.
"""

import re
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Final, cast, final

from confluent_kafka.schema_registry.common.avro import (
    _branch_accepts,
    _collapse_schema,
    _disjoint,
    _resolve_union,
    get_type,
)
from confluent_kafka.schema_registry.common.serde import FieldType, RuleContext
from fastavro import validate

from streammesh.contracts.cel import CelProgram, CelRuleExpression
from streammesh.contracts.errors import RuleCompileError, RuleEvaluationError

__all__ = ["FieldBody", "FieldPlan", "compile_field_rule"]

# FieldContext.is_primitive: the types confluent's field transform evaluates the rule on.
_PRIMITIVE: Final = frozenset(
    {
        FieldType.INT,
        FieldType.LONG,
        FieldType.FLOAT,
        FieldType.DOUBLE,
        FieldType.BOOLEAN,
        FieldType.NULL,
        FieldType.STRING,
        FieldType.BYTES,
    }
)
# Conservative, by word anywhere in the text (string literals included): a guard naming
# `value`, `message` or `now` may depend on the record; a body naming `message` or `now` is
# evaluated value by value, never over a batch of values.
_RECORD_DEPENDENT: Final = re.compile(r"\b(?:value|message|now)\b")
_PER_VALUE_ONLY: Final = re.compile(r"\b(?:message|now)\b")
_STATIC_NAMES: Final = {
    name: re.compile(rf"\b{name}\b") for name in ("fullName", "name", "typeName", "tags")
}
_BATCH: Final = "__streammesh_field_values"


class _Failed(Exception):  # noqa: N818 - a signal inside the walk, never raised to callers
    """A field's result was the `False` object: the CONDITION fails."""


class _Node:
    """One schema node of a plan; `run` returns what confluent's `transform` would, as far as
    anyone can tell (whether it `is False`), and raises `_Failed` or `RuleEvaluationError`."""

    __slots__ = ("falsy_only_if_false", "inert")

    def __init__(self, *, inert: bool, falsy_only_if_false: bool) -> None:
        # Neither fails nor raises, whatever the value.
        self.inert = inert
        # The result is the `False` object only when the value is.
        self.falsy_only_if_false = falsy_only_if_false

    def run(self, value: object, containing: object) -> object:
        raise NotImplementedError

    def gather(self, value: object, sink: list[list[object]]) -> bool:
        """Appends the values the bodies below would run on to `sink`; False when the rule may
        fail whatever the bodies give (a value that is `False`), so only `run` can tell."""
        return True


@final
class _Passes(_Node):
    """A primitive field the guard excludes: the CONDITION holds."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(inert=True, falsy_only_if_false=False)

    def run(self, value: object, containing: object) -> object:
        return True


@final
class _Keeps(_Node):
    """A value the rule does not look at: confluent hands it back as it is."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(inert=True, falsy_only_if_false=True)

    def run(self, value: object, containing: object) -> object:
        return value


_PASSES: Final = _Passes()
_KEEPS: Final = _Keeps()


@final
class _Body(_Node):
    """A primitive field the rule applies to: the body's result is the field's result."""

    __slots__ = ("batch", "program", "slot", "term", "variables")

    def __init__(self, program: CelProgram, variables: dict[str, object]) -> None:
        super().__init__(inert=False, falsy_only_if_false=False)
        self.program = program
        self.variables = variables
        # `term(name)`: CEL that is true when no value of the list `name` gives `false` or an
        # error; None when the body reads the record (`message`, `now`).
        text = program.expr
        self.term = None if _PER_VALUE_ONLY.search(text) else _all_term(text)
        self.batch = None
        if self.term is not None:
            try:
                self.batch = CelProgram.compile(self.term(_BATCH))
            except RuleCompileError:
                self.term = None
        self.slot = -1  # its list in a fused check's sink

    @property
    def fusable(self) -> bool:
        """Whether the body reads nothing but `value`, so several can share one evaluation."""
        return self.batch is not None and not self.variables

    def run(self, value: object, containing: object) -> object:
        return self.program.evaluate(containing, {**self.variables, "value": value})

    def passes_all(self, values: list[object]) -> bool:
        """True when the body gives no value `false` and no error, in one evaluation; False
        when it cannot tell, for the caller to go value by value as confluent does."""
        if self.batch is None:
            return False
        try:
            return self.batch.evaluate({}, {**self.variables, _BATCH: values}) is True
        except Exception:  # noqa: BLE001 - redone value by value, which raises what confluent would
            return False

    def gather(self, value: object, sink: list[list[object]]) -> bool:
        sink[self.slot].append(value)
        return True


FieldBody = _Body  # what a fused check reads of a body: its `term`, `batch`, `slot`


def _all_term(body: str) -> Callable[[str], str]:
    # A newline before each `)`, should the body end in a `//` comment.
    return lambda values: f"{values}.all(value, ({body}\n) != false)"


@final
class _Record(_Node):
    """A record: each present field in order; a field whose result is `False` fails the rule.

    `steps` holds the fields that can matter: `None` for those that fail only on a `False`
    value, so the value is checked without a walk."""

    __slots__ = ("single_body", "steps")

    def __init__(self, steps: tuple[tuple[str, _Node | None], ...]) -> None:
        super().__init__(inert=not steps, falsy_only_if_false=True)
        self.steps = steps
        only = steps[0] if len(steps) == 1 else None
        self.single_body = only if only is not None and isinstance(only[1], _Body) else None

    def run(self, value: object, containing: object) -> object:
        if value is None or not isinstance(value, dict):
            return value
        for name, node in self.steps:
            if name in value:
                if node is None:
                    if value[name] is False:
                        raise _Failed
                elif node.run(value[name], value) is False:
                    raise _Failed
        return value

    def passes_items(self, items: list[object]) -> bool:
        """True when items of this record all pass, told in one evaluation because the record's
        only relevant field is a body; False when the caller must walk item by item."""
        if self.single_body is None:
            return False
        name, body = self.single_body
        assert isinstance(body, _Body)
        values = [item[name] for item in items if isinstance(item, dict) and name in item]
        return body.passes_all(values)

    def gather(self, value: object, sink: list[list[object]]) -> bool:
        if value is None or not isinstance(value, dict):
            return True
        for name, node in self.steps:
            if name in value:
                field_value = value[name]
                if isinstance(node, _Body):
                    sink[node.slot].append(field_value)
                elif field_value is False or (
                    node is not None and not node.gather(field_value, sink)
                ):
                    # A record, array or map node's result is False only when its value is.
                    return False
        return True


def _run_collection(items_node: _Node, items: list[object], containing: object) -> None:
    # An item's result lands in a new list or map, which is never `False`: only failures of
    # nested records and CEL errors matter.
    if isinstance(items_node, _Body):
        if items_node.passes_all(items):
            return
    elif isinstance(items_node, _Record) and items_node.passes_items(items):
        return
    for item in items:
        items_node.run(item, containing)


def _gather_collection(items_node: _Node, items: list[object], sink: list[list[object]]) -> bool:
    if isinstance(items_node, _Body):
        sink[items_node.slot].extend(items)
        return True
    if isinstance(items_node, _Record) and items_node.single_body is not None:
        # `_Record.gather` on each item, unrolled for the common shape.
        name, body = items_node.single_body
        assert isinstance(body, _Body)
        sink[body.slot].extend(
            item[name] for item in items if isinstance(item, dict) and name in item
        )
        return True
    return all(items_node.gather(item, sink) for item in items)


@final
class _Array(_Node):
    __slots__ = ("items",)

    def __init__(self, items: _Node) -> None:
        super().__init__(inert=items.inert, falsy_only_if_false=True)
        self.items = items

    def run(self, value: object, containing: object) -> object:
        if isinstance(value, list) and not self.inert:
            _run_collection(self.items, value, containing)
        return value

    def gather(self, value: object, sink: list[list[object]]) -> bool:
        if isinstance(value, list) and not self.inert:
            return _gather_collection(self.items, value, sink)
        return True


@final
class _Map(_Node):
    __slots__ = ("values",)

    def __init__(self, values: _Node) -> None:
        super().__init__(inert=values.inert, falsy_only_if_false=True)
        self.values = values

    def run(self, value: object, containing: object) -> object:
        if isinstance(value, dict) and not self.inert:
            _run_collection(self.values, list(value.values()), containing)
        return value

    def gather(self, value: object, sink: list[list[object]]) -> bool:
        if isinstance(value, dict) and not self.inert:
            return _gather_collection(self.values, list(value.values()), sink)
        return True


def _is_pair(value: object) -> bool:
    """Union tuple notation: (branch name, value)."""
    return isinstance(value, tuple) and len(value) == 2


@final
class _Union(_Node):
    """A union: the branch confluent's `_resolve_union` picks, by the same validation."""

    __slots__ = ("branches", "candidates", "none_branch", "schema")

    def __init__(self, schema: list[Any], branches: tuple[_Node, ...]) -> None:
        super().__init__(inert=all(b.inert for b in branches), falsy_only_if_false=False)
        self.schema = schema
        self.branches = branches
        # What `_resolve_union` validates against, made once instead of per value.
        self.candidates = tuple(_collapse_schema(deepcopy(branch)) for branch in schema)
        self.none_branch = self._index(_resolve_union(schema, None)[0])

    def _index(self, subschema: object) -> int | None:
        if subschema is None:
            return None
        return next(n for n, branch in enumerate(self.schema) if branch is subschema)

    def run(self, value: object, containing: object) -> object:
        if _is_pair(value) or (isinstance(value, dict) and "-type" in value):
            return self._run_named(value, containing)
        if self.inert and value is not False:
            # Whichever branch takes a plain value, an inert one gives back something not False.
            return value
        index = self.none_branch if value is None else self._branch(value)
        if index is None:
            return value
        return self.branches[index].run(value, containing)

    def gather(self, value: object, sink: list[list[object]]) -> bool:
        # Only inert unions are fused (see `run`): their result is not False for other values.
        return self.inert and value is not False and not _is_pair(value)

    def _branch(self, value: object) -> int | None:
        for index, candidate in enumerate(self.candidates):
            try:
                if validate(value, candidate, raise_errors=False):
                    return index
            except Exception:  # noqa: BLE001, S112 - confluent skips a branch on any error too
                continue
        return None

    def _run_named(self, value: Any, containing: object) -> object:
        # (branch, value) or {"-type": ...}: confluent's own resolution and re-wrapping.
        subschema, payload = _resolve_union(self.schema, value)
        index = self._index(subschema)
        if subschema is None or index is None:
            return value
        result: Any = self.branches[index].run(payload, containing)
        if isinstance(value, tuple) and len(value) == 2 and _branch_accepts(subschema, result):
            return (value[0], result)
        return result


class _Unresolved(Exception):  # noqa: N818 - internal signal: the rule keeps confluent's walk
    pass


@dataclass(frozen=True, slots=True)
class _Field:
    full_name: str
    name: str
    tags: set[str]


# How `FieldPlan.gather_columns` takes one field of each record: into the body's list, checked
# for `False` only, or through an array of values or of records with one body field.
_TAKE, _FALSY, _ARRAY, _ARRAY_OF_RECORDS = range(4)
_Column = tuple[int, str, int, str]  # (how, field, slot, field of the array's records)


def _columns(root: _Node) -> tuple[_Column, ...] | None:
    """The steps of a record plan `gather_columns` can take field by field; None for others."""
    if not isinstance(root, _Record):
        return None
    columns: list[_Column] = []
    for name, node in root.steps:
        if node is None:
            columns.append((_FALSY, name, -1, ""))
        elif isinstance(node, _Body):
            columns.append((_TAKE, name, node.slot, ""))
        elif isinstance(node, _Array) and isinstance(node.items, _Body):
            columns.append((_ARRAY, name, node.items.slot, ""))
        elif isinstance(node, _Array) and isinstance(node.items, _Record):
            single = node.items.single_body
            if single is None:
                return None
            inner, body = single
            assert isinstance(body, _Body)
            columns.append((_ARRAY_OF_RECORDS, name, body.slot, inner))
        else:
            return None
    return tuple(columns)


@final
class FieldPlan:
    """One CEL_FIELD CONDITION rule resolved against one schema."""

    __slots__ = ("_root", "bodies", "fusable")

    def __init__(self, root: _Node) -> None:
        self._root = root
        nodes = list(_descendants(root))
        self.bodies = tuple(node for node in nodes if isinstance(node, _Body))
        #: Whether a fused check may take this rule: no union the rule applies under, bodies
        #: reading only `value`.
        self.fusable = not any(isinstance(n, _Union) and not n.inert for n in nodes) and all(
            body.fusable for body in self.bodies
        )

    def gather(self, record: dict[str, object], sink: list[list[object]]) -> bool:
        """For a fused check: the values each body would run on, into `sink` at the body's
        `slot`; False when the record may fail the rule whatever the bodies give."""
        return self._root.inert or self._root.gather(record, sink)

    def reads(self, path: tuple[str, ...]) -> bool:
        """Whether the rule may read the record's value at `path` (field names from the record
        down, array items and map values taking none). A value the plan only tells from `False`
        is not read: no decoded value is the `False` object but a boolean's. A body that may
        read `message` (the record holding its field) may read anything."""
        if any(body.term is None for body in self.bodies):
            return True
        node: _Node | None = self._root
        while node is not None and not node.inert:
            if isinstance(node, _Array):
                node = node.items
            elif isinstance(node, _Map):
                node = node.values
            elif isinstance(node, _Record) and path:
                name, path = path[0], path[1:]
                node = next((step for field, step in node.steps if field == name), None)
            else:
                return True  # a body, or a union it may resolve either way
        return False

    def gather_columns(self, records: list[dict[str, object]], sink: list[list[object]]) -> bool:
        """`gather` of every record at once, field by field: each body's values of all records
        into `sink`, in no particular order. False when some record may fail whatever the
        bodies give, or when the plan has a shape this does not take (then `gather` each)."""
        if self._root.inert:
            return True
        columns = _columns(self._root)  # slots are set when the plan is fused, after __init__
        if columns is None:
            return False
        for how, name, slot, inner in columns:
            if how == _TAKE:
                sink[slot].extend([record[name] for record in records if name in record])
                continue
            if any(record.get(name) is False for record in records):
                return False
            if how == _ARRAY:
                values = sink[slot]
                for record in records:
                    items = record.get(name)
                    if isinstance(items, list):
                        values.extend(items)
            elif how == _ARRAY_OF_RECORDS:
                values = sink[slot]
                for record in records:
                    items = record.get(name)
                    if isinstance(items, list):
                        values.extend(
                            [i[inner] for i in items if isinstance(i, dict) and inner in i]
                        )
        return True

    def fails(self, record: dict[str, object]) -> bool:
        """Whether `record` fails the rule; raises `RuleEvaluationError` where confluent's walk
        would meet a CEL error first."""
        if self._root.inert:
            return False
        try:
            self._root.run(record, None)
        except _Failed:
            return True
        return False


def _descendants(node: _Node) -> Iterator[_Node]:
    yield node
    children: tuple[_Node | None, ...] = ()
    if isinstance(node, _Record):
        children = tuple(child for _, child in node.steps)
    elif isinstance(node, _Array):
        children = (node.items,)
    elif isinstance(node, _Map):
        children = (node.values,)
    elif isinstance(node, _Union):
        children = node.branches
    for child in children:
        if child is not None:
            yield from _descendants(child)


def compile_field_rule(
    expression: CelRuleExpression, schema: object, ctx: RuleContext
) -> FieldPlan | None:
    """The plan of a CEL_FIELD CONDITION rule over the expanded Avro `schema`, or None when the
    rule has to keep confluent's walk. `ctx` is the context that walk gets (rule, target schema
    with its metadata tags, inline tags): field tags are read from it as the walk reads them."""
    guard = expression.guard
    if guard is not None and _RECORD_DEPENDENT.search(guard.expr):
        return None
    try:
        return FieldPlan(_Compiler(expression, ctx).node(schema, None))
    except _Unresolved:
        return None


@final
class _Compiler:
    __slots__ = ("_ctx", "_exit_field", "_expression", "_rule_tags")

    def __init__(self, expression: CelRuleExpression, ctx: RuleContext) -> None:
        self._expression = expression
        self._ctx = ctx
        self._rule_tags = set(ctx.rule.tags) if ctx.rule.tags else None
        # confluent leaves `exit_field` unannotated.
        self._exit_field = cast(Callable[[], None], ctx.exit_field)

    def node(self, schema: object, field: _Field | None) -> _Node:
        # The cases of confluent's `transform`, in its order.
        if schema is None:
            return _KEEPS
        if isinstance(schema, list):
            return _Union(schema, tuple(self.node(branch, field) for branch in schema))
        if isinstance(schema, dict):
            kind = schema.get("type")
            if kind == "array":
                return _Array(self.node(schema["items"], field))
            if kind == "map":
                return _Map(self.node(schema["values"], field))
            if kind == "record":
                return self._record(schema)
        return self._leaf(schema, field)

    def _record(self, schema: dict[str, Any]) -> _Node:
        steps: list[tuple[str, _Node | None]] = []
        for declaration in schema["fields"]:
            name, field_type = declaration["name"], declaration["type"]
            full_name = schema["name"] + "." + name
            entered = self._ctx.enter_field(None, full_name, name, get_type(field_type), None)
            self._exit_field()
            node = self.node(field_type, _Field(full_name, name, entered.tags))
            if node is _PASSES:
                continue
            steps.append((name, None if node.inert and node.falsy_only_if_false else node))
        return _Record(tuple(steps))

    def _leaf(self, schema: Any, field: _Field | None) -> _Node:
        if field is None:
            return _KEEPS
        if self._rule_tags is not None and _disjoint(self._rule_tags, field.tags):
            return _KEEPS
        field_type = get_type(schema)
        if field_type not in _PRIMITIVE:
            return _KEEPS  # confluent's field transform hands non-primitives back
        variables: dict[str, object] = {
            "fullName": field.full_name,
            "name": field.name,
            "typeName": field_type.name,
            "tags": list(field.tags),
        }
        guard = self._expression.guard
        if guard is not None:
            try:
                applies = bool(guard.evaluate({}, variables))
            except RuleEvaluationError:
                raise _Unresolved from None
            if not applies:
                return _PASSES
        return self._body(variables)

    def _body(self, variables: dict[str, object]) -> _Body:
        text = self._expression.body.expr
        referenced = {
            name: value for name, value in variables.items() if _STATIC_NAMES[name].search(text)
        }
        return _Body(self._expression.body, referenced)
