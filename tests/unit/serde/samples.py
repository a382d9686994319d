"""Schemas and records shared by the serde tests."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

TOPIC = "orders"

_DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}

ORDER_FIELDS: list[dict[str, object]] = [
    {"name": "order_id", "type": "string"},
    {"name": "amount", "type": _DECIMAL},
    {
        "name": "items",
        "type": {
            "type": "array",
            "items": {
                "type": "record",
                "name": "LineItem",
                "fields": [
                    {"name": "sku", "type": "string"},
                    {"name": "quantity", "type": "int"},
                    {"name": "unit_price", "type": _DECIMAL},
                ],
            },
        },
    },
    {
        "name": "status",
        "type": {"type": "enum", "name": "Status", "symbols": ["placed", "cancelled"]},
    },
    {"name": "tags", "type": {"type": "map", "values": "string"}, "default": {}},
]


def order_schema(*extra_fields: dict[str, object], drop: str | None = None) -> str:
    """The order schema as JSON, with fields added at the end or one dropped."""
    fields = [f for f in ORDER_FIELDS if f["name"] != drop] + list(extra_fields)
    return json.dumps({"type": "record", "name": "Order", "namespace": "shop", "fields": fields})


ORDER_SCHEMA = order_schema()

ORDER: dict[str, object] = {
    "order_id": "o-1",
    "amount": Decimal("123.45"),
    "items": [
        {"sku": "sku-1", "quantity": 2, "unit_price": Decimal("10.00")},
        {"sku": "sku-2", "quantity": 1, "unit_price": Decimal("103.45")},
    ],
    "status": "placed",
    "tags": {"channel": "web"},
}

LOGICAL_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Logical",
        "namespace": "shop",
        "fields": [
            {"name": "price", "type": _DECIMAL},
            {
                "name": "rate",
                "type": {
                    "type": "fixed",
                    "name": "Rate",
                    "size": 8,
                    "logicalType": "decimal",
                    "precision": 16,
                    "scale": 4,
                },
            },
            {"name": "at_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "at_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    }
)

LOGICAL: dict[str, object] = {
    "price": Decimal("-9999999999.99"),
    "rate": Decimal("123456789012.3456"),
    "at_ms": datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=UTC),
    "at_us": datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    "day": date(2024, 2, 29),
    "id": UUID("12345678-1234-5678-1234-567812345678"),
    "note": None,
}
