"""JSON values to Avro-ready Python values by the schema, and decoded records back to JSON.

JSON has no decimals, timestamps or bytes, so a record written as JSON (a line of a `.jsonl`
file) is converted field by field using the Avro schema's logical types: a `decimal` from a
string or a number, a `timestamp-*` from an ISO-8601 string or epoch milliseconds, a `date`
from `YYYY-MM-DD` or days since the epoch, `bytes` from a string of code points 0-255 (Avro's
own JSON encoding). `to_json` goes the other way, so what `tail` prints `publish` accepts.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from streammesh.sdk.errors import SdkError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class RecordConversionError(SdkError, ValueError):
    """A JSON value does not fit the Avro schema; `path` names the field (`$.line_items[0]`)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class JsonConverter:
    """Converts JSON values to the Python values fastavro writes, for one Avro schema."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._names: dict[str, Any] = {}
        self._collect(schema, "")

    def from_json(self, value: Any) -> Any:
        return self._convert(self.schema, value, "$", "")

    # --- named types

    def _collect(self, schema: Any, namespace: str) -> None:
        if isinstance(schema, list):
            for branch in schema:
                self._collect(branch, namespace)
            return
        if not isinstance(schema, dict):
            return
        kind = schema.get("type")
        if kind in _NAMED:
            full = _full_name(schema, namespace)
            self._names.setdefault(full, schema)
            self._names.setdefault(full.rpartition(".")[2], schema)
            namespace = full.rpartition(".")[0]
            for item in schema.get("fields", ()):
                self._collect(item.get("type"), namespace)
        elif kind == "array":
            self._collect(schema.get("items"), namespace)
        elif kind == "map":
            self._collect(schema.get("values"), namespace)
        elif isinstance(kind, dict | list):
            self._collect(kind, namespace)

    def _named(self, name: str, namespace: str) -> Any:
        if "." not in name and namespace and f"{namespace}.{name}" in self._names:
            return self._names[f"{namespace}.{name}"]
        if name in self._names:
            return self._names[name]
        raise RecordConversionError("$", f"the schema refers to an unknown type {name!r}")

    # --- conversion

    def _convert(  # noqa: PLR0912 - one case per kind of Avro type
        self, schema: Any, value: Any, path: str, namespace: str
    ) -> Any:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _primitive(schema, value, path)
            named = self._named(schema, namespace)
            return self._convert(named, value, path, _namespace_of(named, namespace))
        if isinstance(schema, list):
            return self._union(schema, value, path, namespace)
        if not isinstance(schema, dict):
            raise RecordConversionError(path, f"unsupported schema {schema!r}")
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical is not None:
            converted = _logical(logical, kind, schema, value, path)
            if converted is not _NOT_LOGICAL:
                return converted
        if kind in ("record", "error"):
            return self._record(schema, value, path, _namespace_of(schema, namespace))
        if kind == "enum":
            symbols = schema.get("symbols", [])
            if not isinstance(value, str) or value not in symbols:
                raise RecordConversionError(path, f"{value!r} is not one of {', '.join(symbols)}")
            return value
        if kind == "array":
            if not isinstance(value, list):
                raise RecordConversionError(path, f"expected an array, got {_kind(value)}")
            items = schema.get("items")
            return [
                self._convert(items, item, f"{path}[{i}]", namespace)
                for i, item in enumerate(value)
            ]
        if kind == "map":
            if not isinstance(value, dict):
                raise RecordConversionError(path, f"expected an object, got {_kind(value)}")
            values = schema.get("values")
            return {
                str(k): self._convert(values, v, f"{path}.{k}", namespace) for k, v in value.items()
            }
        if kind == "fixed":
            data = _bytes(value, path)
            if len(data) != schema.get("size"):
                raise RecordConversionError(path, f"expected {schema.get('size')} bytes")
            return data
        return self._convert(kind, value, path, namespace)

    def _record(self, schema: Mapping[str, Any], value: Any, path: str, namespace: str) -> Any:
        if not isinstance(value, dict):
            raise RecordConversionError(path, f"expected an object, got {_kind(value)}")
        fields = schema.get("fields", [])
        known = {f["name"] for f in fields}
        unknown = sorted(set(value) - known)
        if unknown:
            raise RecordConversionError(
                f"{path}.{unknown[0]}", f"not a field of {schema.get('name')}"
            )
        out: dict[str, Any] = {}
        for item in fields:
            name = item["name"]
            where = f"{path}.{name}"
            if name in value:
                out[name] = self._convert(item["type"], value[name], where, namespace)
            elif "default" in item:
                out[name] = self._convert(item["type"], item["default"], where, namespace)
            else:
                raise RecordConversionError(where, "missing (the field has no default)")
        return out

    def _union(self, branches: list[Any], value: Any, path: str, namespace: str) -> Any:
        if value is None:
            if "null" in branches:
                return None
            raise RecordConversionError(path, "null is not allowed here")
        # Avro's JSON encoding wraps a union value as {"<branch type>": value}: accept it too.
        if isinstance(value, dict) and len(value) == 1:
            ((tag, inner),) = value.items()
            for branch in branches:
                if _branch_name(branch, namespace) == tag:
                    return self._convert(branch, inner, path, namespace)
        reasons: list[str] = []
        for branch in branches:
            if branch == "null":
                continue
            try:
                return self._convert(branch, value, path, namespace)
            except RecordConversionError as exc:
                reasons.append(exc.reason)
        raise RecordConversionError(path, f"matches no branch of the union ({'; '.join(reasons)})")


class _NotLogical:
    pass


_NOT_LOGICAL: Any = _NotLogical()


def _logical(logical: str, kind: Any, schema: Mapping[str, Any], value: Any, path: str) -> Any:
    if logical == "decimal" and kind in ("bytes", "fixed"):
        return _decimal(value, int(schema.get("scale", 0)), int(schema.get("precision", 0)), path)
    if logical in ("timestamp-millis", "timestamp-micros"):
        return _timestamp(value, path, aware=True)
    if logical in ("local-timestamp-millis", "local-timestamp-micros"):
        return _timestamp(value, path, aware=False)
    if logical == "date" and kind == "int":
        return _date(value, path)
    if logical in ("time-millis", "time-micros"):
        return _time(value, logical, path)
    if logical == "uuid":
        if isinstance(value, str):
            try:
                uuid.UUID(value)
            except ValueError as exc:
                raise RecordConversionError(path, f"{value!r} is not a UUID") from exc
            return value
        raise RecordConversionError(path, f"expected a UUID string, got {_kind(value)}")
    return _NOT_LOGICAL  # an unknown logical type: Avro says use the underlying type


def _decimal(value: Any, scale: int, precision: int, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordConversionError(
            path, f"expected a decimal (string or number), got {_kind(value)}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordConversionError(path, f"{value} is not a decimal")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise RecordConversionError(path, f"{value!r} is not a decimal") from exc
    if not number.is_finite():
        raise RecordConversionError(path, f"{value!r} is not a finite decimal")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        raise RecordConversionError(path, f"{value} has more than {scale} decimal places")
    digits = len(number.quantize(Decimal(1).scaleb(-scale)).as_tuple().digits)
    if precision and digits > precision:
        raise RecordConversionError(path, f"{value} has more than {precision} digits")
    return number


def _timestamp(value: Any, path: str, *, aware: bool) -> datetime:
    if isinstance(value, bool):
        raise RecordConversionError(path, "expected a timestamp, got a boolean")
    if isinstance(value, int | float):
        moment = _EPOCH + timedelta(milliseconds=value)
        return moment if aware else moment.replace(tzinfo=None)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise RecordConversionError(path, f"{value!r} is not an ISO-8601 timestamp") from exc
        if aware:
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        return moment.replace(tzinfo=None)
    raise RecordConversionError(
        path, f"expected an ISO-8601 string or epoch milliseconds, got {_kind(value)}"
    )


def _date(value: Any, path: str) -> date:
    if isinstance(value, int) and not isinstance(value, bool):
        return _EPOCH_DATE + timedelta(days=value)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise RecordConversionError(path, f"{value!r} is not a date (YYYY-MM-DD)") from exc
    raise RecordConversionError(path, f"expected a date string or days, got {_kind(value)}")


def _time(value: Any, logical: str, path: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        unit = (
            timedelta(milliseconds=value)
            if logical == "time-millis"
            else timedelta(microseconds=value)
        )
        return (datetime.min + unit).time()
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError as exc:
            raise RecordConversionError(path, f"{value!r} is not a time (HH:MM:SS)") from exc
    raise RecordConversionError(path, f"expected a time string, got {_kind(value)}")


def _primitive(kind: str, value: Any, path: str) -> Any:
    if kind == "null":
        if value is not None:
            raise RecordConversionError(path, f"expected null, got {_kind(value)}")
        return None
    if kind == "boolean":
        if not isinstance(value, bool):
            raise RecordConversionError(path, f"expected a boolean, got {_kind(value)}")
        return value
    if kind in ("int", "long"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordConversionError(path, f"expected an integer, got {_kind(value)}")
        low, high = _INT32 if kind == "int" else _INT64
        if not low <= value <= high:
            raise RecordConversionError(path, f"{value} does not fit an Avro {kind}")
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordConversionError(path, f"expected a number, got {_kind(value)}")
        return float(value)
    if kind == "string":
        if not isinstance(value, str):
            raise RecordConversionError(path, f"expected a string, got {_kind(value)}")
        return value
    return _bytes(value, path)


def _bytes(value: Any, path: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise RecordConversionError(path, f"expected a string of bytes, got {_kind(value)}")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise RecordConversionError(path, "bytes are written as code points 0-255") from exc


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _full_name(schema: Mapping[str, Any], namespace: str) -> str:
    name = str(schema.get("name"))
    if "." in name:
        return name
    ns = schema.get("namespace", namespace)
    return f"{ns}.{name}" if ns else name


def _namespace_of(schema: Any, enclosing: str) -> str:
    if isinstance(schema, dict) and schema.get("type") in _NAMED:
        return _full_name(schema, enclosing).rpartition(".")[0]
    return enclosing


def _branch_name(branch: Any, namespace: str) -> str:
    if isinstance(branch, str):
        return branch
    if isinstance(branch, dict):
        if branch.get("type") in _NAMED:
            return _full_name(branch, namespace)
        return str(branch.get("type"))
    return "union"


def to_json(value: Any) -> Any:
    """A decoded Avro value as JSON-safe data: decimals as strings, times as ISO-8601."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return str(value)
