"""A record decoded with deferred logical types, then restored, is fastavro's full decode.

Records are random (fastavro's own generator, on the plain schema, so decimals are random bytes
of any length and timestamps random longs, many beyond the years datetimes reach), written once
and decoded both ways: the full decode fails exactly when the restorer refuses, and otherwise
the two agree value for value, type for type, decimal exponent for decimal exponent.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.utils import generate_many

from streammesh.serde.deferred import DeferredLogicalTypes

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted((ROOT / "schemas/avro").rglob("*.avsc"))


def _decimal(precision: int, scale: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "bytes", "logicalType": "decimal", "precision": precision}
    if scale is not None:
        found["scale"] = scale
    return found


SHARED = {"type": "record", "name": "Shared", "fields": [{"name": "v", "type": _decimal(5, 2)}]}
LINE = {
    "type": "record",
    "name": "Line",
    "fields": [
        {"name": "cost", "type": _decimal(6, 2)},
        {"name": "tags", "type": {"type": "map", "values": _decimal(5, 1)}},
    ],
}
SYNTHETIC: dict[str, Any] = {
    "type": "record",
    "name": "Synthetic",
    "namespace": "test.deferred",
    "fields": [
        {"name": "price", "type": _decimal(9, 3)},
        {"name": "whole", "type": _decimal(4)},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "seen", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "lines", "type": {"type": "array", "items": LINE}},
        {
            "name": "grid",
            "type": {"type": "array", "items": {"type": "array", "items": _decimal(3, 1)}},
        },
        {"name": "again", "type": "Line"},  # a named record used twice, never under a union
        {"name": "maybe", "type": ["null", _decimal(5, 2)]},  # under a union: converted
        {"name": "shared", "type": SHARED},
        {"name": "shared_opt", "type": ["null", "Shared"]},  # so Shared.v stays converted too
        {
            "name": "fixed",
            "type": {
                "type": "fixed",
                "name": "Amount",
                "size": 4,
                "logicalType": "decimal",
                "precision": 8,
                "scale": 2,
            },
        },
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "when", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
    ],
}
SYNTHETIC_PATHS = {
    ("price",),
    ("whole",),
    ("at",),
    ("seen",),
    ("lines", "cost"),
    ("lines", "tags"),
    ("grid",),
    ("again", "cost"),
    ("again", "tags"),
}


def _same(left: object, right: object) -> bool:
    """Equal, of the same type, and decimals with the same digits and exponent."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        assert isinstance(right, dict)
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        assert isinstance(right, list)
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, Decimal):
        assert isinstance(right, Decimal)
        return left.as_tuple() == right.as_tuple()
    return left == right


def _both_ways(
    schema: dict[str, Any], datum: dict[str, Any], reads: Callable[[tuple[str, ...]], bool]
) -> tuple[object, dict[str, Any] | None]:
    """fastavro's full decode (its exception if it fails) and the restored plain decode (None
    if the restorer refuses) of `datum` written with the plain schema."""
    deferred = DeferredLogicalTypes.of(json.dumps(schema))
    assert deferred is not None
    out = BytesIO()
    schemaless_writer(out, deferred.plain, datum)
    payload = out.getvalue()
    try:
        full: object = schemaless_reader(BytesIO(payload), parse_schema(schema), None)
    except Exception as exc:  # noqa: BLE001 - whatever fastavro raises
        full = exc
    plain = schemaless_reader(BytesIO(payload), deferred.plain, None)
    assert isinstance(plain, dict)
    return full, plain if deferred.restorer(reads)(plain) else None


# Half the records get top-level timestamps and dates in the years datetimes reach (most random
# longs are not), so both outcomes are common.
_IN_RANGE = {
    "timestamp-millis": 253_402_300_799_999,
    "timestamp-micros": 253_402_300_799_999_999,
    "date": 2_932_896,
}


def _random_records(schema: dict[str, Any], count: int, seed: int) -> list[dict[str, Any]]:
    deferred = DeferredLogicalTypes.of(json.dumps(schema))
    assert deferred is not None
    random.seed(seed)
    records = [dict(r) for r in generate_many(deferred.plain, count)]
    for field in schema["fields"]:
        highest = (
            _IN_RANGE.get(str(field["type"].get("logicalType")))
            if isinstance(field["type"], dict)
            else None
        )
        for record in records[::2] if highest is not None else ():
            record[field["name"]] = random.randrange(0, highest)
    return records


def _refused_alike(schema: dict[str, Any], count: int, seed: int) -> int:
    """Decodes `count` random records both ways, every value read; each must agree. Returns
    how many the full decode refused."""
    refused = 0
    for datum in _random_records(schema, count, seed):
        full, restored = _both_ways(schema, datum, lambda _path: True)
        if isinstance(full, Exception):
            refused += 1
            assert restored is None, full
        else:
            assert restored is not None
            assert _same(restored, full)
    return refused


@pytest.mark.parametrize("schema_file", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_schema_decodes_the_same_both_ways(schema_file: Path) -> None:
    schema = json.loads(schema_file.read_text())
    if DeferredLogicalTypes.of(schema) is None:
        return  # nothing to defer in it
    assert _refused_alike(schema, 300, seed=7) <= 150  # those with timestamps in range decode


def test_deferred_places_are_those_reached_without_a_union() -> None:
    deferred = DeferredLogicalTypes.of(json.dumps(SYNTHETIC))
    assert deferred is not None
    assert set(deferred.paths) == SYNTHETIC_PATHS


def test_nested_arrays_maps_and_reused_records_decode_the_same_both_ways() -> None:
    # Random dates and timestamps: both outcomes are exercised.
    assert 0 < _refused_alike(SYNTHETIC, 300, seed=11) < 300


def test_values_no_one_reads_stay_as_written_and_all_else_is_decoded() -> None:
    wanted = {("price",), ("lines", "cost")}
    for datum in _random_records(SYNTHETIC, 100, seed=3):
        full, restored = _both_ways(SYNTHETIC, datum, lambda path: path in wanted)
        if isinstance(full, Exception):
            continue
        assert isinstance(full, dict)
        assert restored is not None
        assert _same(restored["price"], full["price"])
        assert all(
            _same(line["cost"], expected["cost"]) and line["tags"] == datum_line["tags"]
            for line, expected, datum_line in zip(
                restored["lines"], full["lines"], datum["lines"], strict=True
            )
        )
        assert restored["at"] == datum["at"]
        assert isinstance(restored["at"], int)
        assert restored["whole"] == datum["whole"]
        assert restored["grid"] == datum["grid"]
        untouched = {"maybe", "shared", "shared_opt", "fixed", "day", "when", "again"}
        for name in untouched - {"again"}:
            assert _same(restored[name], full[name]), name
        assert restored["again"] == datum["again"]  # read by no one: bytes all the way down


@pytest.mark.parametrize("unit", ["timestamp-millis", "timestamp-micros"])
def test_a_timestamp_is_refused_exactly_where_fastavro_fails(unit: str) -> None:
    schema = {
        "type": "record",
        "name": "T",
        "fields": [{"name": "t", "type": {"type": "long", "logicalType": unit}}],
    }
    per_unit = 1000 if unit == "timestamp-millis" else 1
    lowest = -62_135_596_800_000_000 // per_unit  # 0001-01-01T00:00:00Z
    highest = 253_402_300_799_999_999 // per_unit  # 9999-12-31T23:59:59.999999Z
    for value in (lowest - 1, lowest, lowest + 1, -1, 0, 1, highest - 1, highest, highest + 1):
        full, restored = _both_ways(schema, {"t": value}, lambda _path: True)
        assert isinstance(full, Exception) == (restored is None), value
        if restored is not None:
            assert isinstance(full, dict)
            assert isinstance(restored["t"], datetime)
            assert restored["t"] == full["t"]
        _, unread = _both_ways(schema, {"t": value}, lambda _path: False)
        assert (unread is None) == (restored is None)
        assert unread is None or unread["t"] == value


@pytest.mark.parametrize("size", [1, 2, 5, 6, 9, 16, 40])
def test_decimals_of_every_length_round_as_fastavro_rounds(size: int) -> None:
    schema = {"type": "record", "name": "D", "fields": [{"name": "d", "type": _decimal(7, 2)}]}
    generator = random.Random(size)
    for _ in range(200):
        raw = generator.randbytes(size)
        full, restored = _both_ways(schema, {"d": raw}, lambda _path: True)
        assert restored is not None
        assert isinstance(full, dict)
        assert _same(restored["d"], full["d"])


def test_nothing_is_deferred_where_nothing_can_be() -> None:
    recursive = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "children", "type": {"type": "array", "items": "Node"}},
        ],
    }
    assert DeferredLogicalTypes.of(recursive) is None  # `at` also lies at every depth
    assert DeferredLogicalTypes.of({"type": "array", "items": _decimal(5, 2)}) is None
    plain = {"type": "record", "name": "P", "fields": [{"name": "s", "type": "string"}]}
    assert DeferredLogicalTypes.of(plain) is None


def test_records_inside_error_types_are_followed() -> None:
    inner = {"type": "record", "name": "R", "fields": [{"name": "d", "type": _decimal(6, 2)}]}
    schema = {
        "type": "record",
        "name": "Top",
        "fields": [
            {
                "name": "e",
                "type": {"type": "error", "name": "E", "fields": [{"name": "r", "type": inner}]},
            },
            {"name": "again", "type": "R"},
        ],
    }
    deferred = DeferredLogicalTypes.of(schema)
    assert deferred is not None
    assert set(deferred.paths) == {("e", "r", "d"), ("again", "d")}
    assert _refused_alike(schema, 100, seed=5) == 0


def test_a_precision_past_what_python_decimals_hold_is_left_to_fastavro() -> None:
    schema = {
        "type": "record",
        "name": "P",
        "fields": [
            {"name": "huge", "type": _decimal(10**18, 2)},
            {"name": "fine", "type": _decimal(9, 2)},
        ],
    }
    deferred = DeferredLogicalTypes.of(schema)
    assert deferred is not None
    assert deferred.paths == (("fine",),)


def test_a_schema_too_big_to_walk_defers_nothing() -> None:
    # Each level holds the previous twice: 2**20 places for the decimal at the bottom.
    level: dict[str, Any] = {
        "type": "record",
        "name": "L0",
        "fields": [{"name": "d", "type": _decimal(6, 2)}],
    }
    for n in range(1, 21):
        level = {
            "type": "record",
            "name": f"L{n}",
            "fields": [{"name": "a", "type": level}, {"name": "b", "type": f"L{n - 1}"}],
        }
    assert DeferredLogicalTypes.of(level) is None
