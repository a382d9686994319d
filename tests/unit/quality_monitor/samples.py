"""A real product contract (sales.orders.v1 from `domains/`) and records for it, good and bad."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import Schema
from fastavro import parse_schema, schemaless_writer

from services.quality_monitor.checks import Unresolved, WriterSchema
from streammesh.contracts import RuleEvaluator
from streammesh.deadletter import Reason
from streammesh.products import compile_contract, load_descriptor
from streammesh.products.catalog import DataProductPublic
from streammesh.products.descriptor import Descriptor
from streammesh.serde import SchemaId, header

ROOT = Path(__file__).resolve().parents[3]
ORDERS = load_descriptor(ROOT / "domains/sales/products/orders.yaml")
PROFILES = load_descriptor(ROOT / "domains/customers/products/profiles.yaml")
ORDERS_CONTRACT = compile_contract(ORDERS, (ROOT / ORDERS.topic.value_schema).read_text())
ORDERS_ID = 11
PROFILES_ID = 12  # registered, but under another subject
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def orders_writer(schema_id: int = ORDERS_ID, version: int = 3) -> WriterSchema:
    schema = Schema(ORDERS_CONTRACT.schema, "AVRO")
    rules = RuleEvaluator.from_rule_set(ORDERS_CONTRACT.rule_set, "WRITE", schema=schema)
    return WriterSchema.of(schema_id, version, ORDERS_CONTRACT.schema, rules, ("event_time",))


class Resolver:
    """An in-memory `SchemaResolver`: one subject version, one foreign id."""

    def __init__(self, writer: WriterSchema | None = None) -> None:
        self.writer = writer or orders_writer()
        self.asked: list[int] = []

    def resolve(self, schema_id: int, /) -> WriterSchema | Unresolved:
        self.asked.append(schema_id)
        if schema_id == self.writer.schema_id:
            return self.writer
        if schema_id == PROFILES_ID:
            return Unresolved(Reason.WRONG_SUBJECT, f"schema id {schema_id} is another subject's")
        return Unresolved(Reason.UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not known")


def order(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "order_id": "0b7e4a52-4f5c-4bb0-9a57-0e3c0e2c7d11",
        "customer_id": "c-1",
        "amount": Decimal("20.00"),
        "currency": "EUR",
        "line_items": [{"sku": "sku-1", "quantity": 2, "unit_price": Decimal("10.00")}],
        "status": "placed",
        "event_time": NOW,
    }
    record.update(changes)
    return record


def encode(record: dict[str, Any], schema_id: int = ORDERS_ID) -> bytes:
    out = BytesIO()
    out.write(header(SchemaId(schema_id)))
    schemaless_writer(out, parse_schema(json.loads(ORDERS_CONTRACT.schema)), record)
    return out.getvalue()


def public(
    descriptor: Descriptor, version: int = 1, schema_id: int | None = None
) -> DataProductPublic:
    """`descriptor` as the catalog serves it, at `version` of its value subject."""
    topic = descriptor.topic.name
    return DataProductPublic(
        ref=topic,
        domain=descriptor.domain,
        name=descriptor.name,
        major=descriptor.major,
        status=descriptor.status,
        descriptor=descriptor,
        value_subject=f"{topic}-value",
        value_schema_id=version if schema_id is None else schema_id,
        value_version=version,
        registered_at=0,
        updated_at=0,
    )
