"""Reading a product's Avro contract: validation and the field paths descriptors refer to.

A descriptor names a field by its dotted path from the root record (`line_items.sku`); the
schema registry names it `<record full name>.<field>` (`streammesh.sales.LineItem.sku`), which
is what Confluent's serdes match `metadata.tags` and CEL_FIELD `fullName` against.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastavro import parse_schema
from fastavro.schema import SchemaParseException, UnknownType

from streammesh.products.errors import AvroSchemaError

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class AvroField:
    """One record field reachable from the root record."""

    path: str
    """Dotted path from the root record, through arrays, maps and unions: `line_items.sku`."""
    full_name: str
    """The registry's name for it: `<record full name>.<field name>`."""
    doc: str | None
    """The field's `doc`, if any."""
    declaration: JsonObject
    """The field's declaration inside the schema it was read from (shared, not a copy)."""


@dataclass(frozen=True)
class AvroSchema:
    """A parsed and validated Avro schema with its field index."""

    text: str
    declaration: Any
    """The schema as JSON (a dict for records, a string or dict for primitives)."""
    fields: dict[str, AvroField]
    """Every record field by dotted path; empty for a primitive schema."""

    @property
    def is_record(self) -> bool:
        return isinstance(self.declaration, dict) and self.declaration.get("type") == "record"

    @property
    def full_name(self) -> str | None:
        """The root record's full name, or None for a non-record schema."""
        if not self.is_record:
            return None
        return _full_name(self.declaration, "")


def parse_avro(text: str, *, source: str = "<schema>") -> AvroSchema:
    """Parse and validate an Avro schema; raises `AvroSchemaError` naming `source`."""
    try:
        declaration = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AvroSchemaError(f"{source}: not JSON: {exc}") from exc
    try:
        parse_schema(declaration)
    except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError) as exc:
        raise AvroSchemaError(f"{source}: not a valid Avro schema: {exc}") from exc
    fields = {field.path: field for field in iter_fields(declaration)}
    return AvroSchema(text=text, declaration=declaration, fields=fields)


def iter_fields(declaration: Any) -> Iterator[AvroField]:
    """Every record field reachable from `declaration`, depth first, each named type once."""
    yield from _walk(declaration, "", "", set())


def _full_name(record: JsonObject, enclosing_namespace: str) -> str:
    name = str(record["name"])
    if "." in name:
        return name
    namespace = record.get("namespace", enclosing_namespace)
    return f"{namespace}.{name}" if namespace else name


def _walk(node: Any, prefix: str, namespace: str, seen: set[str]) -> Iterator[AvroField]:
    if isinstance(node, list):
        for branch in node:
            yield from _walk(branch, prefix, namespace, seen)
        return
    if not isinstance(node, dict):
        return  # a primitive or a reference to a named type already walked
    kind = node.get("type")
    if kind == "array":
        yield from _walk(node.get("items"), prefix, namespace, seen)
    elif kind == "map":
        yield from _walk(node.get("values"), prefix, namespace, seen)
    elif kind == "record":
        record = _full_name(node, namespace)
        if record in seen:
            return
        seen.add(record)
        record_namespace = record.rpartition(".")[0]
        for field in node.get("fields", []):
            path = f"{prefix}{field['name']}"
            yield AvroField(path, f"{record}.{field['name']}", field.get("doc"), field)
            yield from _walk(field.get("type"), f"{path}.", record_namespace, seen)
    elif isinstance(kind, dict | list):
        yield from _walk(kind, prefix, namespace, seen)
