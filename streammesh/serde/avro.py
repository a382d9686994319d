"""Avro serializer and deserializer in the Confluent wire format.

A payload is the magic byte 0, the schema id as a 4-byte big-endian integer, then the Avro
binary body. Both classes are drop-in replacements for confluent-kafka's `AvroSerializer` and
`AvroDeserializer`: same call signature, same bytes.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from io import BytesIO
from typing import Any, cast

from confluent_kafka.schema_registry import (
    Schema,
    SchemaRegistryError,
    topic_subject_name_strategy,
)
from confluent_kafka.serialization import Deserializer, SerializationContext, Serializer
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.types import DictSchema, NamedSchemas
from fastavro.types import Schema as AvroSchema
from fastavro.validation import validate

from streammesh.serde.deferred import LARGEST_DEFERRED_BODY, DeferredLogicalTypes, Path, Restorer
from streammesh.serde.errors import (
    RecordMismatchError,
    RegistryLookupError,
    SerdeConfigError,
    SerdeError,
    TruncatedPayloadError,
    UnknownSchemaIdError,
)
from streammesh.serde.registry import SchemaId, SchemaRegistry, SubjectNameStrategy
from streammesh.serde.wire import HEADER_SIZE, header, schema_id_of

# (header, parsed writer schema, writes raw bytes)
_Route = tuple[bytes, AvroSchema, bool]
# (header, parsed writer schema, parsed reader schema or None, reads raw bytes,
#  the writer's plain twin and its restorer when logical conversions are deferred)
_Plan = tuple[bytes, AvroSchema, AvroSchema | None, bool, AvroSchema | None, Restorer | None]


def as_schema(schema: str | Schema) -> Schema:
    """A registry `Schema` from an Avro declaration, normalised exactly as confluent does.

    The same string must reach the registry from both serdes, or a lookup by one would miss a
    schema registered by the other.
    """
    if isinstance(schema, Schema):
        return schema
    text = schema.strip()
    if not text.startswith(("{", "[")):
        text = '{"type":' + text + "}"
    return Schema(text, schema_type="AVRO")


def parse(schema: Schema) -> AvroSchema:
    """Parse a registry schema for fastavro; referenced schemas are not supported yet."""
    if schema.references:
        raise SerdeError("Avro schemas with references are not supported yet")
    if schema.schema_str is None:
        raise SerdeError("the registry returned a schema without a schema string")
    try:
        return parse_schema(json.loads(schema.schema_str))
    except Exception as exc:  # fastavro raises several unrelated types for a bad schema
        raise SerdeError(f"invalid Avro schema: {exc}") from exc


def _is_raw_bytes(parsed: AvroSchema) -> bool:
    # Confluent's serdes (Java and Python) frame a top-level "bytes" value without Avro encoding.
    return parsed in ("bytes", {"type": "bytes"})


class AvroSerializer(Serializer):
    """Serialize records to the Confluent wire format.

    `registry` is any `SchemaRegistry`, e.g. confluent's `SchemaRegistryClient`. The subject
    comes from `subject_name_strategy` (confluent's `topic_subject_name_strategy` by default,
    `<topic>-value` / `<topic>-key`); the schema id is resolved once per subject and kept.

    - `auto_register_schemas` (confluent's `auto.register.schemas`): register `schema` under
      the subject; otherwise look it up and fail if it is not registered.
    - `use_latest_version` (`use.latest.version`): write with the subject's latest schema,
      read once per subject; requires `auto_register_schemas=False`, `schema` is optional.
    """

    __slots__ = (
        "_auto_register",
        "_last",
        "_record_name",
        "_registry",
        "_routes",
        "_schema",
        "_subject_name",
        "_use_latest",
        "_writer",
    )

    def __init__(
        self,
        registry: SchemaRegistry,
        schema: str | Schema | None = None,
        *,
        auto_register_schemas: bool = True,
        use_latest_version: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        if use_latest_version and auto_register_schemas:
            raise SerdeConfigError("use_latest_version needs auto_register_schemas=False")
        if schema is None and not use_latest_version:
            raise SerdeConfigError("a writer schema is needed unless use_latest_version is set")
        self._registry = registry
        self._schema = None if schema is None else as_schema(schema)
        self._writer = None if self._schema is None else parse(self._schema)
        self._record_name = _record_name(self._writer)
        self._auto_register = auto_register_schemas
        self._use_latest = use_latest_version
        self._subject_name = subject_name_strategy
        self._routes: dict[str, _Route] = {}
        # The route of the last (topic, field), swapped as one tuple so threads never see a mix.
        self._last: tuple[str | None, str | None, bytes, AvroSchema, bool] = (
            None,
            None,
            b"",
            "null",
            False,
        )

    def __call__(self, obj: object, ctx: SerializationContext | None = None) -> bytes | None:
        if obj is None:
            return None
        topic, field, head, writer, raw = self._last
        if ctx is None or ctx.topic != topic or ctx.field != field:
            head, writer, raw = self._route(ctx)
        if raw:
            if not isinstance(obj, bytes):
                raise RecordMismatchError("bytes", "$", f"expected bytes, got {type(obj).__name__}")
            return head + obj
        out = BytesIO()
        out.write(head)
        try:
            schemaless_writer(out, writer, obj)
        except Exception as exc:  # fastavro reports a bad record as TypeError, ValueError, ...
            raise _mismatch(writer, obj, exc) from exc
        return out.getvalue()

    def _route(self, ctx: SerializationContext | None) -> _Route:
        try:
            subject = self._subject_name(ctx, self._record_name)
        except ValueError as exc:  # confluent's topic strategies refuse a missing context
            raise SerdeError(str(exc)) from exc
        if subject is None:
            raise SerdeError(f"the subject name strategy gave no subject for {self._record_name}")
        route = self._routes.get(subject)
        if route is None:
            route = self._routes[subject] = self._resolve(subject)
        if ctx is not None:
            self._last = (ctx.topic, ctx.field, *route)
        return route

    def _resolve(self, subject: str) -> _Route:
        try:
            if self._use_latest:
                latest = self._registry.get_latest_version(subject)
                writer, schema_id = parse(latest.schema), latest.schema_id
            else:
                assert self._schema is not None  # checked in __init__
                assert self._writer is not None
                writer = self._writer
                if self._auto_register:
                    schema_id = self._registry.register_schema(subject, self._schema)
                else:
                    schema_id = self._registry.lookup_schema(subject, self._schema).schema_id
        except SchemaRegistryError as exc:
            raise RegistryLookupError(f"subject {subject}: {exc}") from exc
        if schema_id is None:
            raise RegistryLookupError(f"subject {subject}: the registry returned no schema id")
        return header(SchemaId(schema_id)), writer, _is_raw_bytes(writer)


class AvroDeserializer(Deserializer):
    """Deserialize Confluent wire-format payloads to Python values.

    The writer schema is fetched by the payload's schema id, parsed once and kept. With
    `reader_schema`, records are resolved to it (Avro schema resolution: added fields take
    their defaults, removed fields are skipped); without it they come back as written.
    Logical types decode as confluent's do: `Decimal`, `datetime` (UTC), `date`, `UUID`.

    With `reads` (and no reader schema), a record's decimals and top-level timestamps at paths
    `reads` rejects may be left as written (bytes, numbers), which about halves the decode of
    a record full of them (`streammesh.serde.deferred`); values at paths it accepts are as
    above, and a payload decodes exactly when it would in full.
    """

    __slots__ = ("_last", "_plans", "_reader", "_reads", "_registry")

    def __init__(
        self,
        registry: SchemaRegistry,
        reader_schema: str | Schema | None = None,
        *,
        reads: Callable[[Path], bool] | None = None,
    ) -> None:
        if reads is not None and reader_schema is not None:
            raise SerdeConfigError("reads defers conversions of records as written: no reader")
        self._registry = registry
        self._reader = None if reader_schema is None else parse(as_schema(reader_schema))
        self._reads = reads
        self._plans: dict[int, _Plan] = {}
        # Six bytes, so no payload's 5-byte prefix ever matches before the first real plan.
        self._last: _Plan = (b"\xff" * 6, "null", None, False, None, None)

    def __call__(self, data: bytes | None, ctx: SerializationContext | None = None) -> object:
        if data is None:
            return None
        head, writer, reader, raw, plain, restore = self._last
        if data[:HEADER_SIZE] != head:
            head, writer, reader, raw, plain, restore = self._plan(data)
        if raw:
            return data[HEADER_SIZE:]
        body = BytesIO(data)
        body.seek(HEADER_SIZE)
        try:
            if plain is None or restore is None or len(data) > LARGEST_DEFERRED_BODY:
                return schemaless_reader(body, writer, reader)
            record = schemaless_reader(body, plain, None)
        except Exception as exc:  # corrupt body or failed resolution, in fastavro's many types
            # fastavro reads a varint byte by byte and indexes past the end instead of EOFError.
            if isinstance(exc, EOFError) or (
                isinstance(exc, IndexError) and body.tell() >= len(data)
            ):
                raise TruncatedPayloadError(f"payload ends inside the Avro body: {exc}") from exc
            raise SerdeError(f"cannot decode the Avro body: {exc}") from exc
        if not restore(cast(dict[str, Any], record)):  # deferred only for record schemas
            raise SerdeError("cannot decode the Avro body: a timestamp is out of range")
        return record

    def _plan(self, data: bytes) -> _Plan:
        schema_id = schema_id_of(data)
        plan = self._plans.get(schema_id)
        if plan is None:
            try:
                schema = self._registry.get_schema(schema_id)
            except SchemaRegistryError as exc:
                if exc.http_status_code == 404:
                    raise UnknownSchemaIdError(schema_id) from exc
                raise RegistryLookupError(f"schema id {schema_id}: {exc}") from exc
            writer = parse(schema)
            # Resolution costs time on every read; skip it when the schemas are the same.
            reader = None if self._reader == writer else self._reader
            deferred = None
            if self._reads is not None and schema.schema_str is not None:
                deferred = DeferredLogicalTypes.of(schema.schema_str)
            plan = (
                data[:HEADER_SIZE],
                writer,
                reader,
                _is_raw_bytes(writer),
                None if deferred is None else deferred.plain,
                None if deferred is None or self._reads is None else deferred.restorer(self._reads),
            )
            self._plans[schema_id] = plan
        self._last = plan
        return plan


def _record_name(parsed: AvroSchema | None) -> str | None:
    if isinstance(parsed, dict):
        name = parsed.get("name")
        return name if isinstance(name, str) else None
    return None


def _mismatch(writer: AvroSchema, record: object, exc: Exception) -> RecordMismatchError:
    """Name the first field of `record` that `writer` rejects; runs only after a failure."""
    named: NamedSchemas = {}
    parse_schema(writer, named)
    path = _find_mismatch(writer, record, named, "$") or "$"
    return RecordMismatchError(_record_name(writer) or str(writer), path, str(exc))


def _find_mismatch(schema: AvroSchema, datum: object, named: NamedSchemas, path: str) -> str | None:
    """The path of the deepest value in `datum` that does not fit `schema`, or None if it fits."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if isinstance(schema, list):
        # A union fits if any branch does; otherwise report the branch that got furthest.
        found = [_find_mismatch(branch, datum, named, path) for branch in schema]
        return None if None in found else max((p for p in found if p), key=len, default=path)
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(schema, dict) and kind in ("record", "error"):
        return _find_in_record(schema, datum, named, path)
    if isinstance(schema, dict) and kind in ("array", "map"):
        return _find_in_collection(schema, datum, named, path)
    try:  # a leaf: primitive, enum, fixed or logical type
        return None if validate(datum, schema, raise_errors=False) else path
    except ValueError:  # fastavro raises rather than reports a decimal that does not fit
        return path


def _find_in_record(
    schema: DictSchema, datum: object, named: NamedSchemas, path: str
) -> str | None:
    if not isinstance(datum, Mapping):
        return path
    for field in schema["fields"]:
        name = field["name"]
        if name not in datum:
            if "default" in field:
                continue  # fastavro writes the default
            return f"{path}.{name}"
        found = _find_mismatch(field["type"], datum[name], named, f"{path}.{name}")
        if found is not None:
            return found
    return None


def _find_in_collection(
    schema: DictSchema, datum: object, named: NamedSchemas, path: str
) -> str | None:
    if schema["type"] == "array":
        if not isinstance(datum, Sequence) or isinstance(datum, str | bytes):
            return path
        child, entries = schema["items"], [(f"{path}[{i}]", v) for i, v in enumerate(datum)]
    else:
        if not isinstance(datum, Mapping):
            return path
        child, entries = schema["values"], [(f"{path}[{k!r}]", v) for k, v in datum.items()]
    for entry_path, value in entries:
        found = _find_mismatch(child, value, named, entry_path)
        if found is not None:
            return found
    return None
