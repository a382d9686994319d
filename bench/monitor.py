"""Quality monitor benchmark: records/s checked by the monitor's loop, beside a same-run baseline.

The baseline consumes the same topic with the same consumer settings and only decodes each
record (streammesh's `AvroDeserializer`); the monitor's loop also checks the wire format and
schema id, runs the product's CEL rules (sales.orders.v1: two message rules, two field rules),
checks the event time, counts metrics, dead-letters the failures (1 in 100 here) and commits
per batch. Order amounts take 90,000 distinct values, as a real stream's would. Both rates
run from the first record received to the last, so joining the group is not counted. Kafka is
the project's own broker, or the cluster named by STREAMMESH_BOOTSTRAP_SERVERS, whose clients
here sign in as STREAMMESH_SECURITY_PROTOCOL and STREAMMESH_SASL_* say (a super user: the bench
makes its own topics and groups); the registry runs in this process.

With --workers N (2 by default) the monitor also runs as N checking processes in one service
(STREAMMESH_MONITOR_WORKERS=N), each taking an equal share of the partitions (3 per worker), on
the same number of records published once all N are in the group (`monitor_workers`); that
figure is printed on its own line, against the same single-consumer baseline, after the
single-process ratio.

    python -m bench.monitor [--records 50000] [--rounds 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro import parse_schema, schemaless_writer
from prometheus_client import CollectorRegistry

from services.quality_monitor.metrics import MonitorMetrics
from services.quality_monitor.monitor import (
    ProductStatus,
    QualityMonitor,
    consumer_config,
    take_batch,
    tune_garbage_collector,
)
from services.quality_monitor.settings import MonitorSettings
from services.quality_monitor.workers import WorkerPool
from streammesh.deadletter import dlq_topic
from streammesh.products.loader import load_descriptor
from streammesh.sdk.produce import produce
from streammesh.sdk.topics import TopicSpec, ensure_topics
from streammesh.security import kafka_client_config
from streammesh.serde import AvroDeserializer, SchemaId, header
from streammesh.testing.kafka import kafka_for_tests
from streammesh.testing.servers import serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 3
_REPORT_SECONDS = 0.05  # how often a worker reports its counts here; the service's is 0.25


@contextlib.contextmanager
def registry(bootstrap_servers: str) -> Iterator[str]:
    from services.registry.app import create_app  # noqa: PLC0415 - only to serve here
    from services.registry.settings import RegistrySettings  # noqa: PLC0415

    topic = f"_streammesh.schemas.bench.{uuid.uuid4().hex[:8]}"
    settings = RegistrySettings(
        bootstrap_servers=bootstrap_servers, topic=topic, auth_enabled=False
    )
    app = create_app(settings)
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        del app
        gc.collect()  # its Kafka clients, before the broker stops (the collector is tuned)


def register_orders(
    url: str, admin: AdminClient, partitions: int = PARTITIONS
) -> tuple[str, str, int, Any]:
    """A copy of sales.orders.v1 under a fresh name; returns ref, topic, schema id, schema."""
    descriptor = load_descriptor(ROOT / "domains/sales/products/orders.yaml")
    name = f"orders_{uuid.uuid4().hex[:8]}"
    topic = f"sales.{name}.v1"
    dumped = descriptor.model_dump(mode="json", by_alias=True)
    dumped["name"] = name
    dumped["topic"] = {**dumped["topic"], "name": topic, "partitions": partitions}
    value_schema = (ROOT / descriptor.topic.value_schema).read_text()
    body = {
        "descriptor": dumped,
        "valueSchema": value_schema,
        "keySchema": (ROOT / str(descriptor.topic.key_schema)).read_text(),
    }
    ensure_topics(admin, [TopicSpec(topic, partitions, {})], replication_factor=1)
    response = httpx.put(f"{url}/products/sales/{name}", json=body, timeout=30)
    response.raise_for_status()
    public = response.json()
    return public["ref"], topic, public["valueSchemaId"], parse_schema(json.loads(value_schema))


def publish(
    bootstrap_servers: str,
    topic: str,
    schema_id: int,
    schema: Any,
    count: int,
    *,
    transactional: bool = False,
) -> int:
    """`count` orders, one in a hundred breaking a rule; returns how many are bad. With
    `transactional`, all in one transaction: read-committed consumers see them all at once."""
    config: dict[str, Any] = {**kafka_client_config(bootstrap_servers), "linger.ms": 20}
    if transactional:
        config["transactional.id"] = f"bench-{uuid.uuid4().hex[:8]}"
    producer = Producer(config)
    if transactional:
        producer.init_transactions(30)
        producer.begin_transaction()
    now = datetime.now(UTC)
    bad = 0
    for n in range(count):
        failing = n % 100 == 99
        bad += failing
        record = {
            "order_id": f"order-{n}",
            "customer_id": f"c-{n % 1000}",
            # Amounts of a real stream seldom repeat: 90,000 distinct ones, so no rule's memo
            # makes the monitor look faster than it is.
            "amount": Decimal("-1.00") if failing else Decimal(1000 + n * 7919 % 90000) / 100,
            "currency": "EUR",
            "line_items": [
                {"sku": "sku-1", "quantity": 2, "unit_price": Decimal("5.00")},
                {"sku": "sku-2", "quantity": 1, "unit_price": Decimal("10.00")},
            ],
            "status": "placed",
            "event_time": now,
        }
        out = BytesIO()
        out.write(header(SchemaId(schema_id)))
        schemaless_writer(out, schema, record)
        produce(producer, topic, out.getvalue(), f"c-{n % 1000}".encode())
        producer.poll(0)
    if transactional:
        producer.commit_transaction(60)
    producer.flush(60)
    return bad


def settings_for(bootstrap_servers: str, url: str, workers: int = 1) -> MonitorSettings:
    return MonitorSettings(
        bootstrap_servers=bootstrap_servers,
        registry_url=url,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        workers=workers,
        log_level="warning",  # the workers' assignment logs would bury the figures
    )


def baseline(settings: MonitorSettings, topic: str, count: int) -> float:
    """Records/s of consume + decode alone: same consumer settings, batch size and way of
    taking a batch (`take_batch`) as the monitor."""
    consumer = Consumer(consumer_config(settings))
    client = SchemaRegistryClient(settings.registry_client_config())
    decode = AvroDeserializer(client)
    consumer.subscribe([topic])
    seen = 0
    started = 0.0
    try:
        while seen < count:
            for message in take_batch(consumer, settings.batch_size, settings.poll_timeout_seconds):
                if message.error() is not None:
                    continue
                if not seen:
                    started = time.perf_counter()
                decode(message.value())
                seen += 1
        elapsed = time.perf_counter() - started
    finally:
        consumer.close()
        client.close()
    return (count - 1) / elapsed


def checked_rate(
    statuses: Callable[[], Iterable[ProductStatus]],
    alive: Callable[[], None],
    count: int,
    pause: float,
) -> float:
    """Records/s from the first record reported checked to the `count`th; `alive` raises if the
    monitor stopped."""
    first_seen, started = 0, 0.0
    while True:
        checked = sum(s.checked for s in statuses())
        if checked and not started:
            first_seen, started = checked, time.perf_counter()
        if checked >= count:
            return (count - first_seen) / (time.perf_counter() - started)
        alive()
        time.sleep(pause)


def monitor(settings: MonitorSettings, count: int) -> float:
    """Records/s of the monitor's loop, from the first record checked to the last."""
    metrics = MonitorMetrics(CollectorRegistry())
    loop = QualityMonitor(settings, metrics)
    metrics.watch(loop.snapshot)
    loop.start()
    try:

        def alive() -> None:
            if not loop.alive:
                raise RuntimeError(f"the monitor stopped: {loop.error!r}")

        return checked_rate(loop.statuses, alive, count, 0.05)
    finally:
        loop.stop()
        metrics.close()


def monitor_workers(bootstrap_servers: str, admin: AdminClient, count: int, workers: int) -> float:
    """Records/s of `workers` checking processes in one service (`WorkerPool`), from the first
    record reported checked to the last.

    The processes start and join the group one after the other, so a corpus already on the
    topic would be checked by the first alone until the others join. Here every worker is in
    the group (the service is ready) before the records appear: they are published in one
    transaction, on a product of their own in a catalog of its own, and the monitor's consumers
    read committed records only (librdkafka's default). The topic has `PARTITIONS` per worker,
    so each checks as many records. Workers report every `_REPORT_SECONDS`, at both ends alike.
    """
    with registry(bootstrap_servers) as url:
        _, topic, schema_id, schema = register_orders(url, admin, PARTITIONS * workers)
        settings = settings_for(bootstrap_servers, url, workers)
        pool = WorkerPool(settings, CollectorRegistry(), report_seconds=_REPORT_SECONDS)
        pool.start()
        try:
            deadline = time.monotonic() + 120
            while not pool.ready:
                if time.monotonic() > deadline:
                    raise RuntimeError("the workers did not join in time")
                time.sleep(0.05)
            publish(bootstrap_servers, topic, schema_id, schema, count, transactional=True)

            def alive() -> None:
                if not pool.alive:
                    raise RuntimeError("a worker stopped")

            return checked_rate(pool.statuses, alive, count, 0.01)
        finally:
            pool.stop()
            _delete(admin, [topic, dlq_topic(topic)])


def _delete(admin: AdminClient, topics: list[str]) -> None:
    for future in admin.delete_topics(topics, operation_timeout=30).values():
        with contextlib.suppress(Exception):
            future.result(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs; median shown")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="also run the monitor with this many checking processes (STREAMMESH_MONITOR_WORKERS"
        "); 1: only the single process",
    )
    args = parser.parse_args()
    # As the service tunes its process (`python -m services.quality_monitor`, each worker); the
    # baseline runs in this process too, with the same setting.
    tune_garbage_collector()
    with (
        tempfile.TemporaryDirectory() as state,
        kafka_for_tests(Path(state)) as kafka,
        registry(kafka.bootstrap_servers) as url,
    ):
        admin = AdminClient(kafka_client_config(kafka.bootstrap_servers))
        ref, topic, schema_id, schema = register_orders(url, admin)
        bad = publish(kafka.bootstrap_servers, topic, schema_id, schema, args.records)
        print(f"monitor: {args.records} records of {ref} on {PARTITIONS} partitions, {bad} bad")
        plain: list[float] = []
        checked: list[float] = []
        pooled: list[float] = []
        for _ in range(args.rounds):
            plain.append(baseline(settings_for(kafka.bootstrap_servers, url), topic, args.records))
            checked.append(monitor(settings_for(kafka.bootstrap_servers, url), args.records))
            line = f"  baseline {plain[-1]:9.0f} records/s   monitor {checked[-1]:9.0f} records/s"
            if args.workers > 1:
                pooled.append(
                    monitor_workers(kafka.bootstrap_servers, admin, args.records, args.workers)
                )
                line += f"   {args.workers} workers {pooled[-1]:9.0f} records/s"
            print(line)
            # The tuned collector seldom runs: free each run's clients now, so none of them is
            # still connected when the broker stops.
            gc.collect()
        ours, floor = statistics.median(checked), statistics.median(plain)
        print(
            f"baseline (consume + decode, 1 process): {floor:.0f} records/s; "
            f"monitor (all checks, DLQ, commits, 1 process): {ours:.0f} records/s; "
            f"ratio {ours / floor:.2f} (goal >= 0.8)"
        )
        if pooled:
            many = statistics.median(pooled)
            print(
                f"monitor with STREAMMESH_MONITOR_WORKERS={args.workers} ({args.workers} "
                f"processes, {PARTITIONS * args.workers} partitions; same baseline): "
                f"{many:.0f} records/s; "
                f"ratio {many / floor:.2f}"
            )
        _delete(admin, [topic, dlq_topic(topic)])
        del admin  # an admin client is a librdkafka handle too: gone before the broker stops
        gc.collect()


if __name__ == "__main__":
    main()
