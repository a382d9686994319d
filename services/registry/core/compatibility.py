"""Compatibility levels and Avro reader/writer checks, reported in Confluent's verbose format.

The rules are Avro Java's `SchemaCompatibility` (which Confluent runs). `avro.compatibility`
implements the same rules, but merges each incompatibility's message and location into unordered
sets, so Confluent's per-incompatibility report cannot be rebuilt from it; it also prints types in
lower case and ignores namespace-relative aliases. This is a port of the Java walk that keeps them
paired; the unit tests check that its verdicts agree with `avro.compatibility`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from avro.schema import (
    ArraySchema,
    EnumSchema,
    FixedSchema,
    MapSchema,
    NamedSchema,
    RecordSchema,
    Schema,
    UnionSchema,
)

from services.registry.core.schema import ParsedSchema, alias_fullnames


class CompatibilityLevel(StrEnum):
    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @property
    def transitive(self) -> bool:
        return self.endswith("_TRANSITIVE")


_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
# Writer types each reader type can promote from (Avro spec, "Schema Resolution").
_PROMOTIONS = {
    "long": {"int"},
    "float": {"int", "long"},
    "double": {"int", "long", "float"},
    "bytes": {"string"},
    "string": {"bytes"},
}
# Confluent's Difference.java wording; {reader} and {writer} become "new" or "old".
_DESCRIPTIONS = {
    "FIXED_SIZE_MISMATCH": "The size of FIXED type field at path '{path}' in the {reader} "
    "schema does not match with the {writer} schema",
    "TYPE_MISMATCH": "The type (path '{path}') of a field in the {reader} schema does not match "
    "with the {writer} schema",
    "NAME_MISMATCH": "The name of the schema has changed (path '{path}')",
    "MISSING_ENUM_SYMBOLS": "The {reader} schema is missing enum symbols '{info}' at path "
    "'{path}' in the {writer} schema",
    "MISSING_UNION_BRANCH": "The {reader} schema is missing a type inside a union field at path "
    "'{path}' in the {writer} schema",
    "READER_FIELD_MISSING_DEFAULT_VALUE": "The field '{info}' at path '{path}' in the {reader} "
    "schema has no default value and is missing in the {writer} schema",
}


@dataclass(frozen=True, slots=True)
class Incompatibility:
    kind: str
    location: str
    message: str

    def describe(self, reader: str, writer: str) -> str:
        """Confluent's `Difference.toString()` with the reader/writer labels filled in."""
        description = _DESCRIPTIONS[self.kind].format(
            path=self.location, info=self.message, reader=reader, writer=writer
        )
        return (
            f"{{errorType:'{self.kind}', description:'{description}', "
            f"additionalInfo:'{self.message}'}}"
        )


def check_reader_writer(reader: Schema, writer: Schema) -> list[Incompatibility]:
    """Everything that stops `reader` from reading data written with `writer`."""
    return _Checker().check(reader, writer, "", [])


@dataclass(frozen=True, slots=True)
class PreviousSchema:
    version: int
    schema: ParsedSchema


def compatibility_messages(
    level: CompatibilityLevel,
    new: ParsedSchema,
    previous: Sequence[PreviousSchema],
    *,
    validate_fields: bool = False,
) -> list[str]:
    """Confluent's verbose messages for registering `new` after `previous` (oldest first);
    empty when compatible. Transitive levels stop at the newest incompatible version. The last
    message states the config the check ran under, as Confluent's `isCompatibleWithPrevious`."""
    if level is CompatibilityLevel.NONE or not previous:
        return []
    candidates = list(reversed(previous)) if level.transitive else [previous[-1]]
    for old in candidates:
        messages = _validate(level, new, old)
        if messages:
            flag = "true" if validate_fields else "false"
            return [*messages, f"{{validateFields: '{flag}', compatibility: '{level}'}}"]
    return []


def _validate(level: CompatibilityLevel, new: ParsedSchema, old: PreviousSchema) -> list[str]:
    # As SchemaValidatorBuilder: "can read" appends the old schema, FULL reports both directions.
    base = level.removesuffix("_TRANSITIVE")
    messages: list[str] = []
    if base in ("FORWARD", "FULL"):
        found = check_reader_writer(old.schema.avro, new.avro)
        messages += [i.describe("old", "new") for i in found]
        if base == "FORWARD" and found:
            messages += _old_schema(old)
    if base in ("BACKWARD", "FULL"):
        found = check_reader_writer(new.avro, old.schema.avro)
        messages += [i.describe("new", "old") for i in found]
        if found:
            messages += _old_schema(old)
    return messages


def _old_schema(old: PreviousSchema) -> list[str]:
    return [f"{{oldSchemaVersion: {old.version}}}", f"{{oldSchema: '{old.schema.canonical}'}}"]


def _kind(schema: Schema) -> str:
    return "record" if schema.type == "error" else schema.type


def _location(tokens: list[str]) -> str:
    # The root token is skipped; the rest are JSON-pointer escaped, as Java's getLocation().
    return "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens[1:])


class _Checker:
    def __init__(self) -> None:
        # None marks a pair in progress: recursive types are compatible with themselves.
        self._memo: dict[tuple[int, int], list[Incompatibility] | None] = {}

    def check(
        self, reader: Schema, writer: Schema, token: str, location: list[str]
    ) -> list[Incompatibility]:
        key = (id(reader), id(writer))
        if key in self._memo:
            return self._memo[key] or []
        self._memo[key] = None
        result = self._calculate(reader, writer, [*location, token])
        self._memo[key] = result
        return result

    def _incompatible(self, kind: str, message: str, location: list[str]) -> list[Incompatibility]:
        return [Incompatibility(kind, _location(location), message)]

    def _compatible(self, reader: Schema, writer: Schema) -> bool:
        # Same memo, fresh location: only the verdict matters here, as in Java.
        return not self.check(reader, writer, "", [])

    def _calculate(  # noqa: PLR0912 - one return per Avro type, as the Java original
        self, reader: Schema, writer: Schema, loc: list[str]
    ) -> list[Incompatibility]:
        r_kind, w_kind = _kind(reader), _kind(writer)
        if r_kind == w_kind:
            if r_kind in _PRIMITIVES:
                return []
            if isinstance(reader, ArraySchema) and isinstance(writer, ArraySchema):
                return self.check(reader.items, writer.items, "items", loc)
            if isinstance(reader, MapSchema) and isinstance(writer, MapSchema):
                return self.check(reader.values, writer.values, "values", loc)
            if isinstance(reader, FixedSchema) and isinstance(writer, FixedSchema):
                return self._names(reader, writer, loc) + self._size(reader, writer, loc)
            if isinstance(reader, EnumSchema) and isinstance(writer, EnumSchema):
                return self._names(reader, writer, loc) + self._symbols(reader, writer, loc)
            if isinstance(reader, RecordSchema) and isinstance(writer, RecordSchema):
                return self._names(reader, writer, loc) + self._fields(reader, writer, loc)
            if isinstance(reader, UnionSchema) and isinstance(writer, UnionSchema):
                result: list[Incompatibility] = []
                for i, branch in enumerate(writer.schemas):
                    if not self._compatible(reader, branch):
                        result += self._incompatible(
                            "MISSING_UNION_BRANCH",
                            f"reader union lacking writer type: {_kind(branch).upper()}",
                            [*loc, str(i)],
                        )
                return result
        if isinstance(writer, UnionSchema):
            found: list[Incompatibility] = []
            for i, branch in enumerate(writer.schemas):
                found += self.check(reader, branch, str(i), loc)
            return found
        if isinstance(reader, UnionSchema):
            if any(self._compatible(branch, writer) for branch in reader.schemas):
                return []
            return self._incompatible(
                "MISSING_UNION_BRANCH", f"reader union lacking writer type: {w_kind.upper()}", loc
            )
        if w_kind in _PROMOTIONS.get(r_kind, set()):
            return []
        return self._incompatible(
            "TYPE_MISMATCH",
            f"reader type: {r_kind.upper()} not compatible with writer type: {w_kind.upper()}",
            loc,
        )

    def _names(
        self, reader: NamedSchema, writer: NamedSchema, loc: list[str]
    ) -> list[Incompatibility]:
        # Java compares unqualified names, then the reader's aliases against the writer's full name.
        if reader.name == writer.name or writer.fullname in alias_fullnames(reader):
            return []
        return self._incompatible("NAME_MISMATCH", f"expected: {writer.fullname}", [*loc, "name"])

    def _size(
        self, reader: FixedSchema, writer: FixedSchema, loc: list[str]
    ) -> list[Incompatibility]:
        if reader.size == writer.size:
            return []
        return self._incompatible(
            "FIXED_SIZE_MISMATCH",
            f"expected: {writer.size}, found: {reader.size}",
            [*loc, "size"],
        )

    def _symbols(
        self, reader: EnumSchema, writer: EnumSchema, loc: list[str]
    ) -> list[Incompatibility]:
        missing = sorted(set(writer.symbols) - set(reader.symbols))
        if not missing or reader.get_prop("default") in reader.symbols:
            return []
        # Java prints its TreeSet: "[A, B]".
        return self._incompatible(
            "MISSING_ENUM_SYMBOLS", f"[{', '.join(missing)}]", [*loc, "symbols"]
        )

    def _fields(
        self, reader: RecordSchema, writer: RecordSchema, loc: list[str]
    ) -> list[Incompatibility]:
        result: list[Incompatibility] = []
        by_name = {f.name: f for f in writer.fields}
        for i, field in enumerate(reader.fields):
            at = [*loc, "fields", str(i)]
            aliases = field.props.get("aliases")
            candidates = [field.name, *(aliases if isinstance(aliases, list) else [])]
            source = next((by_name[n] for n in candidates if n in by_name), None)
            if source is not None:
                result += self.check(field.type, source.type, "type", at)
            elif field.has_default:
                continue
            elif isinstance(field.type, EnumSchema) and field.type.get_prop("default") is not None:
                # Java's quirk, kept for identical verdicts: an enum with a default is matched
                # against the writer record itself.
                result += self.check(field.type, writer, "type", at)
            else:
                result += self._incompatible("READER_FIELD_MISSING_DEFAULT_VALUE", field.name, at)
        return result
