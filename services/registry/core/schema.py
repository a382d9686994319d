"""Avro schema parsing with references; the canonical and normalized strings Confluent compares."""

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from avro.errors import AvroException
from avro.name import Names
from avro.schema import (
    ArraySchema,
    EnumSchema,
    Field,
    FixedSchema,
    MapSchema,
    NamedSchema,
    RecordSchema,
    Schema,
    UnionSchema,
    make_avsc_object,
)

from services.registry.errors import InvalidSchemaError

AVRO = "AVRO"
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
# Keys Avro Java writes itself (in its own order); every other key is a free property.
_RESERVED = frozenset(
    {"type", "name", "namespace", "fields", "items", "values", "size", "symbols", "doc", "aliases"}
)
_FIELD_RESERVED = frozenset({"name", "type", "doc", "default", "order", "aliases"})
_LOGICAL = frozenset({"logicalType", "precision", "scale"})


@dataclass(frozen=True, slots=True)
class ParsedSchema:
    """A parsed Avro schema: `canonical` is Avro Java's `Schema.toString()`, `normalized` is
    Confluent's normalized form. Named types from references appear by name only in both."""

    avro: Schema
    canonical: str
    normalized: str

    def text(self, normalize: bool) -> str:
        return self.normalized if normalize else self.canonical


def parse_schema(text: str, references: Sequence[str] = (), *, new: bool = False) -> ParsedSchema:
    """Parse `text` with the (transitively resolved, dependencies first) referenced schema texts.

    `new` also validates field defaults, as Confluent does only for schemas being registered.
    """
    return _parse_cached(text, tuple(references), new)


@lru_cache(maxsize=4096)
def _parse_cached(text: str, references: tuple[str, ...], new: bool) -> ParsedSchema:
    if not text.strip():
        raise InvalidSchemaError("Empty schema")
    names = Names()
    try:
        with warnings.catch_warnings():
            # Avro warns and falls back to the base type on bad logical types, as Java does.
            warnings.simplefilter("ignore")
            for ref in references:
                make_avsc_object(json.loads(ref), names)
            known = frozenset(names.names)
            parsed = make_avsc_object(json.loads(text), names)
        if new:
            _check_defaults(parsed, set())
    except (ValueError, AvroException, TypeError, AttributeError) as exc:
        raise InvalidSchemaError(f"Invalid schema {text} of type {AVRO}, details: {exc}") from exc
    return ParsedSchema(
        avro=parsed,
        canonical=_dumps(_java(parsed, None, set(known))),
        normalized=_dumps(_normalized(parsed, set(known))),
    )


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _free_props(props: dict[str, object] | object, reserved: frozenset[str]) -> dict[str, object]:
    assert isinstance(props, dict)
    return {k: v for k, v in props.items() if k not in reserved}


def alias_fullnames(schema: NamedSchema) -> list[str]:
    aliases = schema.get_prop("aliases")
    if not isinstance(aliases, list):
        return []
    space = schema.namespace
    return [a if "." in a or not space else f"{space}.{a}" for a in aliases if isinstance(a, str)]


def _qualified(fullname: str, space: str | None) -> str:
    """Avro Java's `Name.getQualified`: the short name inside its own namespace."""
    ns, _, short = fullname.rpartition(".")
    return short if (ns or None) == space else fullname


# --- Avro Java's Schema.toString(): compact JSON, Java's key order, namespaces made relative.


def _java(schema: Schema, space: str | None, known: set[str]) -> object:
    if isinstance(schema, UnionSchema):
        return [_java(branch, space, known) for branch in schema.schemas]
    if isinstance(schema, NamedSchema):
        return _java_named(schema, space, known)
    free = _free_props(schema.props, _RESERVED)
    if isinstance(schema, ArraySchema):
        return {"type": "array", "items": _java(schema.items, space, known), **free}
    if isinstance(schema, MapSchema):
        return {"type": "map", "values": _java(schema.values, space, known), **free}
    return {"type": schema.type, **free} if free else schema.type


def _java_named(schema: NamedSchema, space: str | None, known: set[str]) -> object:
    if schema.fullname in known:
        return _qualified(schema.fullname, space)
    known.add(schema.fullname)
    out: dict[str, object] = {"type": schema.type, "name": schema.name}
    own = schema.namespace
    if own is not None and own != space:
        out["namespace"] = own
    elif own is None and space is not None:
        out["namespace"] = ""
    doc = schema.get_prop("doc")
    if doc is not None:
        out["doc"] = doc
    reserved = _RESERVED
    if isinstance(schema, RecordSchema):
        out["fields"] = [_java_field(f, own, known) for f in schema.fields]
    elif isinstance(schema, EnumSchema):
        out["symbols"] = list(schema.symbols)
        if schema.get_prop("default") is not None:
            out["default"] = schema.get_prop("default")
        reserved = _RESERVED | {"default"}
    elif isinstance(schema, FixedSchema):
        out["size"] = schema.size
    out.update(_free_props(schema.props, reserved))
    aliases = alias_fullnames(schema)
    if aliases:
        out["aliases"] = [_qualified(a, own) for a in aliases]
    return out


def _java_field(field: Field, space: str | None, known: set[str]) -> object:
    out: dict[str, object] = {"name": field.name, "type": _java(field.type, space, known)}
    if field.doc is not None:
        out["doc"] = field.doc
    if field.has_default:
        out["default"] = field.default
    if field.order not in (None, "ascending"):
        out["order"] = field.order
    aliases = field.props.get("aliases")
    if isinstance(aliases, list) and aliases:
        out["aliases"] = aliases
    out.update(_free_props(field.props, _FIELD_RESERVED))
    return out


# --- Confluent's normalized form (AvroSchemaUtils.toNormalizedString): full names, Avro's
# parsing-canonical key order, defaults, docs and aliases kept, free properties sorted.


def _normalized(schema: Schema, known: set[str]) -> object:
    if isinstance(schema, UnionSchema):
        return [_normalized(branch, known) for branch in schema.schemas]
    free = _free_props(schema.props, _RESERVED)
    if isinstance(schema, ArraySchema):
        return {"type": "array", "items": _normalized(schema.items, known), **_sorted(free)}
    if isinstance(schema, MapSchema):
        return {"type": "map", "values": _normalized(schema.values, known), **_sorted(free)}
    if isinstance(schema, NamedSchema):
        return _normalized_named(schema, known)
    if "logicalType" in free:
        return {"type": schema.type, **_logical(free), **_sorted(free, _LOGICAL)}
    return {"type": schema.type, **_sorted(free)} if free else schema.type


def _normalized_named(schema: NamedSchema, known: set[str]) -> object:
    if schema.fullname in known:
        return schema.fullname
    known.add(schema.fullname)
    out: dict[str, object] = {"name": schema.fullname, "type": schema.type}
    free = _free_props(schema.props, _RESERVED)
    if isinstance(schema, EnumSchema):
        out["symbols"] = list(schema.symbols)
    elif isinstance(schema, FixedSchema):
        out["size"] = schema.size
        if "logicalType" in free:
            out.update(_logical(free))
    elif isinstance(schema, RecordSchema):
        out["fields"] = [_normalized_field(f, known) for f in schema.fields]
    doc = schema.get_prop("doc")
    if doc:
        out["doc"] = doc
    aliases = alias_fullnames(schema)
    if aliases:
        out["aliases"] = sorted(aliases)
    if isinstance(schema, EnumSchema) and free.get("default") is not None:
        out["default"] = free["default"]
    out.update(
        _sorted(free, _LOGICAL | {"default"} if isinstance(schema, EnumSchema) else _LOGICAL)
    )
    return out


def _normalized_field(field: Field, known: set[str]) -> object:
    # Confluent always writes the order; it prints Java's constant ("ASCENDING"), which Avro
    # parsers other than Java's reject, so the spec's lower-case spelling is written instead.
    out: dict[str, object] = {
        "name": field.name,
        "type": _normalized(field.type, known),
        "order": field.order or "ascending",
    }
    if field.doc is not None:
        out["doc"] = field.doc
    aliases = field.props.get("aliases")
    if isinstance(aliases, list) and aliases:
        out["aliases"] = sorted(aliases)
    if field.has_default:
        out["default"] = field.default
    out.update(_sorted(_free_props(field.props, _FIELD_RESERVED)))
    return out


def _logical(props: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {"logicalType": props["logicalType"]}
    if props["logicalType"] == "decimal":
        out["precision"] = props.get("precision")
        if props.get("scale", 0):
            out["scale"] = props["scale"]
    return out


def _sorted(props: dict[str, object], exclude: frozenset[str] = frozenset()) -> dict[str, object]:
    return {k: props[k] for k in sorted(props) if k not in exclude}


# --- Default validation: Avro Java's Parser with validateDefaults, which Confluent sets for new
# schemas.


def _check_defaults(schema: Schema, seen: set[str]) -> None:
    if isinstance(schema, NamedSchema):
        if schema.fullname in seen:
            return
        seen.add(schema.fullname)
    if isinstance(schema, RecordSchema):
        for field in schema.fields:
            if field.has_default and not _valid_default(field.type, field.default):
                raise ValueError(
                    f"Invalid default for field {field.name}: {_dumps(field.default)} "
                    f"not a {_dumps(_java(field.type, None, set()))}"
                )
            _check_defaults(field.type, seen)
    elif isinstance(schema, ArraySchema):
        _check_defaults(schema.items, seen)
    elif isinstance(schema, MapSchema):
        _check_defaults(schema.values, seen)
    elif isinstance(schema, UnionSchema):
        for branch in schema.schemas:
            _check_defaults(branch, seen)


def _valid_default(schema: Schema, value: object) -> bool:
    kind = schema.type
    if isinstance(schema, UnionSchema):
        # Avro 1.11+ accepts a default matching any branch, not only the first.
        return any(_valid_default(branch, value) for branch in schema.schemas)
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind in ("float", "double"):
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
        ) or value in ("NaN", "Infinity", "-Infinity")
    if kind in ("string", "bytes", "fixed"):
        return isinstance(value, str)
    if isinstance(schema, EnumSchema):
        return isinstance(value, str) and value in schema.symbols
    if isinstance(schema, ArraySchema):
        return isinstance(value, list) and all(_valid_default(schema.items, v) for v in value)
    if isinstance(schema, MapSchema):
        return isinstance(value, dict) and all(
            _valid_default(schema.values, v) for v in value.values()
        )
    if isinstance(schema, RecordSchema):
        return isinstance(value, dict) and all(
            _valid_default(f.type, value[f.name]) if f.name in value else f.has_default
            for f in schema.fields
        )
    return True
