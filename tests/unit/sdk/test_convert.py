"""JSON values become the Python values the Avro schema needs (decimals, timestamps, dates,
unions, defaults), with the failing field named; decoded values go back to JSON-safe data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from streammesh.sdk import JsonConverter, RecordConversionError, to_json

ROOT = Path(__file__).resolve().parents[3]
ORDER = json.loads((ROOT / "schemas/avro/sales/order.avsc").read_text())
GOOD: dict[str, Any] = {
    "order_id": "o-1",
    "customer_id": "c-1",
    "amount": "12.50",
    "currency": "EUR",
    "line_items": [{"sku": "s", "quantity": 1, "unit_price": 12.5}],
    "status": "placed",
    "event_time": "2026-11-25T12:00:00Z",
}


def test_an_order_from_json() -> None:
    record = JsonConverter(ORDER).from_json(GOOD)
    assert record["amount"] == Decimal("12.50")
    assert record["line_items"][0]["unit_price"] == Decimal("12.5")
    assert record["event_time"] == datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1795600000000, datetime(2026, 11, 25, 9, 46, 40, tzinfo=UTC)),
        ("2026-11-25T12:00:00", datetime(2026, 11, 25, 12, tzinfo=UTC)),
        ("2026-11-25T13:00:00+01:00", datetime(2026, 11, 25, 12, tzinfo=UTC)),
    ],
)
def test_timestamps_from_iso_strings_or_epoch_millis(value: object, expected: datetime) -> None:
    assert JsonConverter(ORDER).from_json({**GOOD, "event_time": value})["event_time"] == expected


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        ({"amount": "ten"}, "$.amount", "not a decimal"),
        ({"amount": "1.234"}, "$.amount", "more than 2 decimal places"),
        ({"amount": True}, "$.amount", "got a boolean"),
        ({"event_time": "yesterday"}, "$.event_time", "not an ISO-8601"),
        ({"status": "lost"}, "$.status", "not one of placed"),
        ({"colour": "red"}, "$.colour", "not a field of Order"),
        ({"line_items": [{"sku": "s", "quantity": "1", "unit_price": 1}]},
         "$.line_items[0].quantity", "expected an integer"),
    ],
)  # fmt: skip
def test_a_bad_value_names_its_field(change: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(RecordConversionError) as error:
        JsonConverter(ORDER).from_json({**GOOD, **change})
    assert error.value.path == path
    assert reason in error.value.reason


def test_missing_fields_take_defaults_and_unions_pick_a_branch() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "namespace": "n",
        "fields": [
            {"name": "note", "type": ["null", "string"], "default": None},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {
                "name": "when",
                "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
                "default": None,
            },
            {"name": "child", "type": ["null", "R"], "default": None},
        ],
    }
    converter = JsonConverter(schema)
    record = converter.from_json({"day": "2026-11-25", "when": 0, "child": {"day": 1}})
    assert record == {
        "note": None,
        "day": date(2026, 11, 25),
        "when": datetime(1970, 1, 1, tzinfo=UTC),
        "child": {"note": None, "day": date(1970, 1, 2), "when": None, "child": None},
    }
    assert converter.from_json({"day": 0, "when": {"long": 0}})["when"] == record["when"]


def test_to_json_is_json_safe_and_round_trips() -> None:
    record = JsonConverter(ORDER).from_json(GOOD)
    back = to_json(record)
    assert back["amount"] == "12.50"
    assert back["event_time"] == "2026-11-25T12:00:00+00:00"
    assert JsonConverter(ORDER).from_json(json.loads(json.dumps(back))) == record
    assert to_json({"b": b"\x00\xff", "f": float("nan")}) == {"b": "\x00\xff", "f": "nan"}
