"""`publish` reads JSON lines into records by the schema, one reason per bad line, keys from a
field or an envelope."""

from __future__ import annotations

import json
from pathlib import Path

from streammesh.cli.publish import read_lines
from streammesh.sdk import JsonConverter

ROOT = Path(__file__).resolve().parents[3]
ORDER = JsonConverter(json.loads((ROOT / "schemas/avro/sales/order.avsc").read_text()))
KEY = JsonConverter(json.loads((ROOT / "schemas/avro/sales/order_key.avsc").read_text()))
GOOD = {
    "order_id": "o-1",
    "customer_id": "c-1",
    "amount": 12.5,
    "currency": "EUR",
    "line_items": [{"sku": "s", "quantity": 1, "unit_price": "12.50"}],
    "status": "placed",
    "event_time": 0,
}


def test_good_bad_and_blank_lines() -> None:
    lines = [json.dumps(GOOD), "", "{oops", json.dumps({**GOOD, "amount": None}), "[1]"]
    out = list(read_lines(lines, ORDER, key=KEY, key_field="customer_id"))
    assert [line.number for line in out] == [1, 3, 4, 5]
    assert out[0].record is not None
    assert out[0].key == "c-1"
    assert out[1].error is not None
    assert out[1].error.startswith("not JSON")
    assert out[2].error == "$.amount: expected a decimal (string or number), got null"
    assert out[3].error == "the record has no 'customer_id' field for the key"


def test_envelopes_carry_key_and_headers() -> None:
    line = json.dumps({"key": "c-9", "value": GOOD, "headers": {"trace": "t-1"}})
    (out,) = read_lines([line], ORDER, key=KEY, envelope=True)
    assert (out.key, out.headers) == ("c-9", {"trace": "t-1"})
    (bad,) = read_lines([json.dumps(GOOD)], ORDER, envelope=True)
    assert bad.error is not None
    assert "envelope" in bad.error
