"""Decoding Avro with the costly logical conversions left for later, done only where read.

fastavro spends about half of an order's decode turning `decimal` bytes into `Decimal`s and
`timestamp-*` longs into `datetime`s, values a checker that reads two fields of the record never
looks at. `DeferredLogicalTypes.of(schema)` gives the schema's plain twin, with those logical
types taken off where that is safe, and `restorer(reads)` the step that, after a plain decode,
converts in place exactly the values `reads(path)` says are read and checks the rest would have
converted. A record decoded plain and restored then equals, at every path read, the record
fastavro decodes with the full schema, and it decodes plain exactly when it decodes in full
(`tests/unit/serde/test_deferred.py` holds this against fastavro itself).

What is deferred, and why only that:
- `bytes` decimals (anonymous types, so each has one place in the schema) whose every
  occurrence is reached through records, arrays and maps alone: converting the bytes cannot
  fail, and a value met under a union could not tell which branch it came from;
- `timestamp-millis` and `timestamp-micros` fields of the top-level record: converting fails
  only outside the years 1 to 9999, which the restorer checks with two comparisons.

Named `fixed` decimals stay converted (a name may be used under a union elsewhere), as do other
logical types, whose conversion can fail on values a plain decode accepts; a recursive schema
defers nothing. A path is the field names from the top-level record down,
array items and map values taking no name.
"""

import copy
import decimal
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, final

from fastavro import parse_schema
from fastavro.types import Schema as AvroSchema

__all__ = ["LARGEST_DEFERRED_BODY", "DeferredLogicalTypes", "Path", "Restorer"]

# A longer Avro body is to be decoded in full: only a decimal of a million digits (415 kB or
# more) overflows the decimal context where fastavro converts it, and raises.
LARGEST_DEFERRED_BODY: Final = 400_000

Path = tuple[str, ...]
# Converts a plain record in place to what the full decode gives where it is read; False when
# the full decode would have failed (a timestamp out of range).
Restorer = Callable[[dict[str, Any]], bool]

_SITE: Final = "__streammesh_deferred_site"
# Steps of a route that take no name: into an array's items, into a map's values. Avro names
# are letters, digits and `_`, so these are never a field's.
_ITEMS: Final = "[]"
_VALUES: Final = "{}"
_Route = tuple[str, ...]  # a path with those steps kept
_TIMESTAMPS: Final = {"timestamp-millis": 1000, "timestamp-micros": 1}  # micros per unit
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# A schema whose walk takes more steps than this (named types reused at every level multiply
# them) defers nothing: the walk runs when a schema is first met, on the checking thread.
_MOST_STEPS: Final = 20_000
_MICROSECOND: Final = timedelta(microseconds=1)
# fastavro computes `epoch + timedelta(microseconds=...)`: in range exactly between these.
_LOWEST_MICROS: Final = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MICROSECOND
_HIGHEST_MICROS: Final = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND

_Convert = Callable[[Any], Any]


@final
class _Decimal:
    """fastavro's `read_decimal`, for one precision and scale."""

    __slots__ = ("_context", "_exponent")

    def __init__(self, precision: int, scale: int) -> None:
        self._context = decimal.Context(prec=precision)
        self._exponent = -scale

    def __call__(self, value: bytes) -> decimal.Decimal:
        context = self._context
        unscaled = int.from_bytes(value, byteorder="big", signed=True)
        return context.create_decimal(unscaled).scaleb(self._exponent, context)


@final
class _Timestamp:
    __slots__ = ("highest", "lowest", "name", "per_unit")

    def __init__(self, name: str, per_unit: int) -> None:
        self.name = name
        self.per_unit = per_unit
        self.lowest = -(-_LOWEST_MICROS // per_unit)
        self.highest = _HIGHEST_MICROS // per_unit

    def __call__(self, value: int) -> datetime:
        return _EPOCH + timedelta(microseconds=value * self.per_unit)


@final
class DeferredLogicalTypes:
    """One writer schema's deferrable logical types; get instances from `of`."""

    __slots__ = ("_decimals", "_timestamps", "plain")

    def __init__(
        self,
        plain: AvroSchema,
        decimals: tuple[tuple[_Route, _Decimal], ...],
        timestamps: tuple[_Timestamp, ...],
    ) -> None:
        #: The parsed schema to decode with: same bytes, deferred values left as written.
        self.plain = plain
        self._decimals = decimals
        self._timestamps = timestamps

    @classmethod
    def of(cls, schema: str | Mapping[str, Any]) -> "DeferredLogicalTypes | None":
        """For a writer schema (its JSON text or object); None when nothing can be deferred."""
        # Through JSON: a fresh object, no node shared between two places of the schema.
        marked: Any = json.loads(schema if isinstance(schema, str) else json.dumps(schema))
        if not isinstance(marked, dict) or marked.get("type") != "record":
            return None
        sites: list[dict[str, Any]] = []
        _mark(marked, sites)
        timestamps = tuple(
            _Timestamp(f["name"], _TIMESTAMPS[f["type"]["logicalType"]])
            for f in marked["fields"]
            if _is_timestamp(f["type"])
        )
        parsed: Any = parse_schema(copy.deepcopy(marked))
        walk = _Walk(parsed.get("__named_schemas", {}), len(sites))
        if not walk.walk(parsed, (), False, ()):
            return None  # e.g. recursive: deferred values could sit at any depth
        occurrences, under_union = walk.found, walk.under_union
        deferred = [
            n
            for n, site in enumerate(sites)
            if occurrences.get(n) and n not in under_union and _plain_decimal(site)
        ]
        if not deferred and not timestamps:
            return None
        for n in deferred:
            del sites[n]["logicalType"]
        for site in sites:
            del site[_SITE]
        for declared in marked["fields"]:
            if _is_timestamp(declared["type"]):
                declared["type"] = "long"
        decimals = tuple(
            (route, _Decimal(sites[n]["precision"], sites[n].get("scale", 0)))
            for n in deferred
            for route in occurrences[n]
        )
        return cls(parse_schema(marked), decimals, timestamps)

    @property
    def paths(self) -> tuple[Path, ...]:
        """Where deferred values are, each path once per place it holds one."""
        decimals = (_path(route) for route, _ in self._decimals)
        return (*decimals, *((t.name,) for t in self._timestamps))

    def restorer(self, reads: Callable[[Path], bool]) -> Restorer:
        """The step after a plain decode: converts the deferred values at paths `reads` accepts,
        and checks the timestamps left as numbers would have converted."""
        tree: dict[str, Any] = {}
        for route, convert in self._decimals:
            if reads(_path(route)):
                node = tree
                for step in route[:-1]:
                    node = node.setdefault(step, {})
                node[route[-1]] = convert
        converters = _compile(tree)
        converted = tuple(t for t in self._timestamps if reads((t.name,)))
        checked = tuple((t.name, t.lowest, t.highest) for t in self._timestamps)

        def restore(record: dict[str, Any]) -> bool:
            for name, lowest, highest in checked:
                value = record[name]
                if value < lowest or value > highest:
                    return False
            for name, convert in converters:
                record[name] = convert(record[name])
            for stamp in converted:
                record[stamp.name] = stamp(record[stamp.name])
            return True

        return restore


def _path(route: _Route) -> Path:
    return tuple(step for step in route if step not in (_ITEMS, _VALUES))


def _plain_decimal(site: Mapping[str, Any]) -> bool:
    """Whether a decimal's precision and scale are ones fastavro converts with as we do."""
    precision, scale = site.get("precision"), site.get("scale", 0)
    return (
        type(precision) is int
        and type(scale) is int
        and 1 <= precision <= decimal.MAX_PREC
        and 0 <= scale <= precision
    )


def _is_timestamp(declared: object) -> bool:
    return (
        isinstance(declared, dict)
        and declared.get("type") == "long"
        and declared.get("logicalType") in _TIMESTAMPS
    )


def _mark(node: object, sites: list[dict[str, Any]]) -> None:
    """Numbers each `bytes` decimal of the schema object, in place."""
    if isinstance(node, list):
        for item in node:
            _mark(item, sites)
    elif isinstance(node, dict):
        if node.get("type") == "bytes" and node.get("logicalType") == "decimal":
            node[_SITE] = len(sites)
            sites.append(node)
            return
        for key in ("type", "items", "values", "fields"):
            if key in node:
                _mark(node[key], sites)


@final
class _Walk:
    """Each marked decimal's routes in a parsed schema, named types followed where used."""

    __slots__ = ("found", "named", "steps", "under_union")

    def __init__(self, named: Mapping[str, Any], sites: int) -> None:
        self.named = named
        self.found: dict[int, list[_Route]] = {n: [] for n in range(sites)}
        self.under_union: set[int] = set()
        self.steps = 0  # nodes visited: each use of a named type is walked again

    def walk(self, node: object, path: _Route, in_union: bool, stack: tuple[str, ...]) -> bool:
        """False when the schema is recursive, has a node of a kind not known here, or is too
        big to walk (`_MOST_STEPS`): then nothing is deferred."""
        self.steps += 1
        if self.steps > _MOST_STEPS:
            return False
        if isinstance(node, str):
            if node not in self.named:
                return True  # a primitive
            if node in stack:
                return False
            return self.walk(self.named[node], path, in_union, (*stack, node))
        if isinstance(node, list):
            return all(self.walk(branch, path, True, stack) for branch in node)
        if not isinstance(node, dict):
            return False
        return self._declared(node, path, in_union, stack)

    def _declared(
        self, node: dict[str, Any], path: _Route, in_union: bool, stack: tuple[str, ...]
    ) -> bool:
        site = node.get(_SITE)
        if site is not None:
            self.found[site].append(path)
            if in_union:
                self.under_union.add(site)
            return True
        kind = node.get("type")
        if kind in ("record", "error"):
            inner = (*stack, node["name"])
            return all(
                self.walk(f["type"], (*path, f["name"]), in_union, inner) for f in node["fields"]
            )
        if kind == "array":
            return self.walk(node["items"], (*path, _ITEMS), in_union, stack)
        if kind == "map":
            return self.walk(node["values"], (*path, _VALUES), in_union, stack)
        if kind in ("enum", "fixed"):
            return True  # no decimal of ours inside
        if isinstance(kind, dict | list | str):
            return self.walk(kind, path, in_union, stack)
        return False


def _compile(tree: Mapping[str, Any]) -> tuple[tuple[str, _Convert], ...]:
    """The fields of a record to convert, each with its converter."""
    return tuple((name, _converter(sub)) for name, sub in tree.items())


def _converter(sub: object) -> _Convert:
    if isinstance(sub, _Decimal):
        return sub
    assert isinstance(sub, dict)
    if _ITEMS in sub:
        items = _converter(sub[_ITEMS])
        return lambda value: [items(item) for item in value]
    if _VALUES in sub:
        values = _converter(sub[_VALUES])
        return lambda value: {key: values(item) for key, item in value.items()}
    fields = _compile(sub)

    def record(value: dict[str, Any]) -> dict[str, Any]:
        for name, convert in fields:
            value[name] = convert(value[name])
        return value

    return record
