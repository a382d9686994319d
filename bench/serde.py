"""Throughput of our Avro serde against confluent-kafka's and against plain fastavro.

Run with `python -m bench.serde [--records N] [--repeats R]`. All three encode the same
orders-like records in the same run; plain fastavro with a hand-made 5-byte header is the floor
any Confluent-framed Avro serde in Python can reach.
"""

import argparse
import gc
import json
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from io import BytesIO
from typing import TypeVar

from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer as ConfluentDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as ConfluentSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streammesh.serde import AvroDeserializer, AvroSerializer

TOPIC = "orders"
_DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}
ORDER_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [
            {"name": "order_id", "type": "string"},
            {"name": "customer_id", "type": "string"},
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
        ],
    }
)

T = TypeVar("T")
Serialize = Callable[[object, SerializationContext], bytes | None]
Deserialize = Callable[[bytes, SerializationContext], object]


def make_orders(count: int, seed: int = 7) -> list[dict[str, object]]:
    """Deterministic orders with 1-5 line items each."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    orders: list[dict[str, object]] = []
    for n in range(count):
        lines = [
            (
                f"sku-{rng.randrange(10_000):05d}",
                rng.randint(1, 9),
                Decimal(rng.randrange(10**5)) / 100,
            )
            for _ in range(rng.randint(1, 5))
        ]
        orders.append(
            {
                "order_id": f"ord-{n:08d}",
                "customer_id": f"cust-{rng.randrange(100_000):06d}",
                "amount": sum((price * qty for _, qty, price in lines), Decimal("0.00")),
                "currency": rng.choice(["EUR", "USD", "GBP"]),
                "items": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
                "status": rng.choice(["placed", "cancelled", "refunded"]),
                "event_time": start + timedelta(milliseconds=rng.randrange(10**10)),
            }
        )
    return orders


def plain_fastavro(header: bytes) -> tuple[Serialize, Deserialize]:
    """The floor: fastavro's schemaless calls with the header prepended and stripped by hand."""
    parsed = parse_schema(json.loads(ORDER_SCHEMA))
    size = len(header)

    def serialize(record: object, ctx: SerializationContext) -> bytes:
        out = BytesIO()
        out.write(header)
        schemaless_writer(out, parsed, record)
        return out.getvalue()

    def deserialize(payload: bytes, ctx: SerializationContext) -> object:
        body = BytesIO(payload)
        body.seek(size)
        return schemaless_reader(body, parsed, None)

    return serialize, deserialize


def rate(
    call: Callable[[T, SerializationContext], object],
    inputs: Sequence[T],
    ctx: SerializationContext,
) -> float:
    """Records per second for one pass of `call` over `inputs`."""
    gc.collect()
    started = time.perf_counter()
    for item in inputs:
        call(item, ctx)
    return len(inputs) / (time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serde", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000, help="records per repetition")
    parser.add_argument("--repeats", type=int, default=7, help="repetitions; the median is shown")
    args = parser.parse_args(argv)

    orders = make_orders(args.records)
    ctx = SerializationContext(TOPIC, MessageField.VALUE)
    registry = SchemaRegistryClient.new_client({"url": "mock://"})
    try:
        ours_ser = AvroSerializer(registry, ORDER_SCHEMA)
        # Same subject strategy as ours, so both make the same registry calls.
        conf = {"subject.name.strategy": topic_subject_name_strategy}
        theirs_ser = ConfluentSerializer(registry, ORDER_SCHEMA, conf=conf)
        first = ours_ser(orders[0], ctx)
        assert first is not None
        serdes: dict[str, tuple[Serialize, Deserialize]] = {
            "ours": (ours_ser, AvroDeserializer(registry)),
            "confluent": (theirs_ser, ConfluentDeserializer(registry, conf=conf)),
            "fastavro": plain_fastavro(first[:5]),
        }
        payloads = check_agreement(serdes, orders, ctx)

        rates: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeats):
            # Interleaved, so drift in machine load spreads over all three alike.
            for name, (serialize, deserialize) in serdes.items():
                rates.setdefault((name, "serialize"), []).append(rate(serialize, orders, ctx))
                rates.setdefault((name, "deserialize"), []).append(rate(deserialize, payloads, ctx))
    finally:
        registry.close()

    print_table(rates, args.records, args.repeats, statistics.mean(map(len, payloads)))


def check_agreement(
    serdes: dict[str, tuple[Serialize, Deserialize]],
    orders: list[dict[str, object]],
    ctx: SerializationContext,
) -> list[bytes]:
    """All three must write the same bytes and read back the same records, or timing is moot."""
    payloads = [serdes["fastavro"][0](o, ctx) for o in orders]
    for name, (serialize, deserialize) in serdes.items():
        if [serialize(o, ctx) for o in orders] != payloads:
            raise SystemExit(f"{name} wrote different bytes from plain fastavro")
        if [deserialize(p, ctx) for p in payloads if p] != orders:
            raise SystemExit(f"{name} read back different records")
    return [p for p in payloads if p]


def print_table(
    rates: dict[tuple[str, str], list[float]], records: int, repeats: int, mean_size: float
) -> None:
    median = {key: statistics.median(values) for key, values in rates.items()}
    print(
        f"Avro serde throughput: {records} orders (1-5 line items, {mean_size:.0f} bytes "
        f"on average) x {repeats} repetitions, median records/s"
    )
    print(
        f"Python {platform.python_version()}, fastavro {version('fastavro')}, "
        f"confluent-kafka {version('confluent-kafka')}"
    )
    print(
        "Registry: confluent's in-process mock client (no network); schema ids are cached "
        "after the first record, so only the serde is measured."
    )
    print()
    print(
        f"{'direction':<12}{'ours':>12}{'confluent':>12}{'fastavro':>12}"
        f"{'ours/fastavro':>16}{'ours/confluent':>16}"
    )
    for direction in ("serialize", "deserialize"):
        ours, theirs, floor = (
            median[name, direction] for name in ("ours", "confluent", "fastavro")
        )
        print(
            f"{direction:<12}{ours:>12,.0f}{theirs:>12,.0f}{floor:>12,.0f}"
            f"{ours / floor:>16.2f}{ours / theirs:>16.2f}"
        )


if __name__ == "__main__":
    main()
