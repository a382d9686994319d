"""Orders-like records and CEL rules over them, shared by the contract tests and the bench."""

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from fastavro import parse_schema, schemaless_reader, schemaless_writer

_DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}
_OPTIONAL_STRING = ["null", "string"]
ORDER_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "customer_id", "type": "string", "confluent:tags": ["PII"]},
        {"name": "amount", "type": _DECIMAL},
        {"name": "currency", "type": "string"},
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
            "type": {
                "type": "enum",
                "name": "Status",
                "symbols": ["placed", "cancelled", "refunded"],
            },
        },
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ship_by", "type": {"type": "int", "logicalType": "date"}},
        {"name": "coupon", "type": _OPTIONAL_STRING, "default": None},
        {"name": "note", "type": _OPTIONAL_STRING, "default": None},
        {
            "name": "shipping",
            "type": {
                "type": "record",
                "name": "Shipping",
                "fields": [
                    {"name": "country", "type": "string"},
                    {"name": "address", "type": _OPTIONAL_STRING, "default": None},
                    {"name": "email", "type": "string", "confluent:tags": ["PII"]},
                ],
            },
        },
        {"name": "weight", "type": "double"},
        {"name": "priority", "type": "int"},
        {"name": "gift", "type": "boolean"},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "checksum", "type": "bytes"},
    ],
}
ORDER_SCHEMA_STR = json.dumps(ORDER_SCHEMA)
TWO_CLAUSE = "message.amount > 0.0 && message.currency.size() == 3"


def order(**changes: object) -> dict[str, object]:
    """A valid order, as a producer hands it to the serializer, with `changes` applied."""
    record: dict[str, object] = {
        "order_id": "o-000042",
        "customer_id": "c-1001",
        "amount": Decimal("125.50"),
        "currency": "EUR",
        "items": [
            {"sku": "ABC-0001", "quantity": 2, "unit_price": Decimal("50.00")},
            {"sku": "XYZ-0420", "quantity": 1, "unit_price": Decimal("25.50")},
        ],
        "status": "placed",
        "event_time": datetime(2025, 3, 14, 15, 9, 26, 535000, tzinfo=UTC),
        "ship_by": date(2025, 3, 20),
        "coupon": None,
        "note": None,
        "shipping": {"country": "DE", "address": "Hauptstr. 1, Berlin", "email": "a@b.de"},
        "weight": 2.5,
        "priority": 3,
        "gift": False,
        "tags": ["web"],
        "checksum": b"\x01\x02\x03\x04",
    }
    record.update(changes)
    return record


_SHIPPING = {"country": "DE", "address": None, "email": "a@b.de"}
# Valid ones and ones each breaking some rule, with the edges: zero, boundaries, empty
# collections, nulls, unicode, naive timestamps, an epoch-era time, huge values.
RECORDS: dict[str, dict[str, object]] = {
    "valid": order(),
    "zero-amount": order(amount=Decimal("0.00")),
    "negative-amount": order(amount=Decimal("-3.10")),
    "one-cent": order(amount=Decimal("0.01")),
    "huge-amount": order(amount=Decimal("9999999999.99")),
    "lower-currency": order(currency="eur"),
    "long-currency": order(currency="EURO"),
    "empty-currency": order(currency=""),
    "no-items": order(items=[]),
    "zero-quantity": order(items=[{"sku": "ABC-0001", "quantity": 0, "unit_price": Decimal(1)}]),
    "bulk-quantity": order(items=[{"sku": "ABC-0001", "quantity": 500, "unit_price": Decimal(1)}]),
    "bad-sku": order(items=[{"sku": "abc-1", "quantity": 1, "unit_price": Decimal("125.50")}]),
    "free-item": order(items=[{"sku": "ABC-0001", "quantity": 1, "unit_price": Decimal(0)}]),
    "cancelled": order(status="cancelled"),
    "refunded-zero": order(status="refunded", amount=Decimal(0)),
    "old-event": order(event_time=datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC)),
    "epoch-event": order(event_time=datetime(1970, 1, 1, tzinfo=UTC)),
    "naive-event": order(event_time=datetime(2025, 1, 2, 3, 4, 5)),
    "future-event": order(event_time=datetime(2999, 1, 1, tzinfo=UTC)),
    "early-ship-by": order(ship_by=date(2001, 1, 1)),
    "coupon": order(coupon="SPRING25"),
    "short-coupon": order(coupon="X"),
    "empty-coupon": order(coupon=""),
    "unicode-note": order(note="héllo wörld", gift=True),
    "gift-without-note": order(gift=True),
    "no-address": order(shipping=_SHIPPING),
    "long-country": order(shipping={**_SHIPPING, "country": "DEU"}),
    "bad-email": order(shipping={**_SHIPPING, "email": "not-an-email"}),
    "heavy": order(weight=1500.25),
    "negative-weight": order(weight=-0.5),
    "high-priority": order(priority=9, amount=Decimal("50.00")),
    "out-of-range-priority": order(priority=42),
    "vip": order(tags=["vip", "web"], amount=Decimal("5000.00")),
    "empty-tag": order(tags=["web", ""]),
    "many-tags": order(tags=["a", "b", "c", "d", "e", "f"]),
    "short-checksum": order(checksum=b"\x00"),
    "space-in-customer": order(customer_id="c 1001"),
    "long-order-id": order(order_id="o-" + "9" * 60),
}

# name -> expression; every value type and operator family a product rule is likely to use.
RULES: dict[str, str] = {
    "amount_positive": TWO_CLAUSE,
    "amount_cap": "message.amount < 1000000.0",
    "amount_int_floor": "message.amount >= 1",
    "amount_as_int": "int(message.amount) < 100000",
    "amount_as_double": "double(message.amount) > 0.0",
    "amount_decimal": "decimal(message.amount) >= decimal('0') && decimal(message.amount) < 1e9",
    "amount_decimal_int": "decimal(message.amount) > decimal(100)",
    "currency_iso": "message.currency.matches('^[A-Z]{3}$')",
    "currency_known": "message.currency in ['EUR', 'USD', 'GBP']",
    "order_id_prefix": "message.order_id.startsWith('o-') && message.order_id.size() <= 40",
    "customer_no_space": "!message.customer_id.contains(' ') && message.customer_id > 'c-'",
    "items_present": "message.items.size() > 0",
    "items_quantity": "message.items.all(i, i.quantity > 0)",
    "items_not_bulk": "!message.items.exists(i, i.quantity > 100)",
    "items_price": "message.items.all(i, i.unit_price > 0.0)",
    "items_sku": "message.items.all(i, i.sku.matches('^[A-Z]{3}-[0-9]{4}$'))",
    "items_few_multiples": "message.items.filter(i, i.quantity > 1).size() <= 3",
    "items_quantities": "message.items.map(i, i.quantity).all(q, q < 1000)",
    "items_one_abc": "message.items.exists_one(i, i.sku.startsWith('ABC')) || true",
    "status_known": "message.status == 'placed' || message.status == 'refunded'",
    "status_not_cancelled": "message.status != 'cancelled'",
    "coupon_code": "message.coupon == null || message.coupon.size() >= 4",
    "note_short": "message.note == null || message.note.size() <= 11",
    "gift_has_note": "!message.gift || message.note != null",
    "shipping_present": "has(message.shipping) && has(message.shipping.country)",
    "shipping_country": "message.shipping.country.size() == 2",
    "shipping_address": "message.shipping.address == null || message.shipping.address.size() > 5",
    "event_after_2020": "message.event_time > timestamp('2020-01-01T00:00:00Z')",
    "event_year": "message.event_time.getFullYear() >= 2024",
    "event_not_future": "message.event_time <= now",
    "event_recent": "message.event_time - timestamp('2024-01-01T00:00:00Z') < duration('17520h')",
    "ship_by_days": "message.ship_by >= 19000",
    "weight_range": "message.weight >= 0.0 && message.weight <= 1000.0",
    "priority_range": "message.priority >= 0 && message.priority <= 9",
    "priority_arith": "message.priority * 2 + 1 < 20",
    "priority_string": "string(message.priority) == '3' || message.priority != 3",
    "priority_amount": "message.priority > 5 ? message.amount > 100.0 : true",
    "tags_clean": "message.tags.all(t, t.size() > 0) && size(message.tags) <= 5",
    "vip_or_small": "'vip' in message.tags || message.amount < 1000.0",
    "checksum_size": "message.checksum.size() == 4",
    "composed": "message.order_id + ':' + message.currency != '' && !(message.weight < 0.0)",
    "refund_guard": "message.status == 'refunded'; message.amount > 0.0",
    "missing_field": "message.discount > 0",
    "whole_message": "size(message) > 5 && message['currency'] == 'EUR'",
}

# Expressions whose verdict the two engines give differently on some record; see the report
# in test_differential.py. name -> (expression, record).
DISAGREEMENTS: dict[str, tuple[str, dict[str, object]]] = {
    # cel-python keeps the Decimal, which equals no CEL double; here it is a double.
    "decimal_equality": ("message.amount == 125.5", order()),
    # cel-python compares the exact decimal 0.10 with the binary double nearest 0.1.
    "decimal_binary_boundary": ("message.amount >= 0.1", order(amount=Decimal("0.10"))),
    # cel-python allows Decimal + int and refuses Decimal * double; the C++ runtime the reverse.
    "decimal_arithmetic": ("message.amount * 2.0 > 0.0", order()),
    # cel-python has no int/double comparison overload (an error, so a failed rule); C++ CEL
    # compares numbers across types as the CEL spec now says.
    "int_double_comparison": ("message.priority > 0.0", order()),
}


def decoded(record: dict[str, object], schema: dict[str, Any] = ORDER_SCHEMA) -> dict[str, object]:
    """`record` as a consumer sees it: written with `schema` and read back by fastavro."""
    parsed = parse_schema(schema)
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, record)
    buffer.seek(0)
    result = schemaless_reader(buffer, parsed, None)
    assert isinstance(result, dict)
    return result


def shipped_rules(root: Path) -> dict[str, str]:
    """CEL expressions of the message-level `quality` rules of every product under `domains/`.

    Rules on a `field` or on `tags` compile to CEL_FIELD rules over their product's own schema;
    they are left to the CEL_FIELD tests.
    """
    found: dict[str, str] = {}
    for path in sorted(root.glob("domains/*/products/*.yaml")):
        _collect(yaml.safe_load(path.read_text()), path.stem, found)
    return found


def _collect(node: object, where: str, found: dict[str, str]) -> None:
    if isinstance(node, dict):
        quality = node.get("quality")
        if isinstance(quality, list):
            for n, rule in enumerate(quality):
                if (
                    isinstance(rule, dict)
                    and isinstance(rule.get("expr"), str)
                    and not rule.keys() & {"field", "tags"}
                ):
                    found[f"{where}:{rule.get('name', n)}"] = rule["expr"]
        for value in node.values():
            _collect(value, where, found)
    elif isinstance(node, list):
        for value in node:
            _collect(value, where, found)
