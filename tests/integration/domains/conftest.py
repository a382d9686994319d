"""Fixtures for the domain tests: the products on fresh topics, CLTV workers as processes, and
readers that fold an output product into its latest value per key."""

from __future__ import annotations

import heapq
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from domains.customers.generator import DESCRIPTOR as PROFILES
from domains.customers.generator import ProfilesConfig, iter_profiles
from domains.marketing.cltv.batch import (
    CustomerValue,
    SegmentValue,
    customer_values,
    segment_values,
)
from domains.marketing.cltv.logic import millis
from domains.marketing.cltv.model import CltvModel, load_model
from domains.sales.generator import DESCRIPTOR as ORDERS
from domains.sales.generator import SalesConfig, iter_orders
from streammesh.broker.launcher import free_port
from streammesh.sdk import Mesh as SdkMesh
from streammesh.sdk import ProductProducer
from streammesh.security import ClientConfig
from streammesh.serde import AvroDeserializer
from streammesh.settings import MeshSettings
from tests.conftest import RegistryFactory, TopicFactory, unique_name

ROOT = Path(__file__).resolve().parents[3]
COMPACT = {"cleanup.policy": "compact"}


@dataclass(frozen=True)
class History:
    """A generated history as (topic kind, key, value) in event-time order."""

    events: list[tuple[str, str, dict[str, Any]]]

    def orders(self) -> list[dict[str, Any]]:
        return [value for kind, _key, value in self.events if kind == "orders"]

    def profiles(self) -> list[dict[str, Any]]:
        return [value for kind, _key, value in self.events if kind == "profiles"]


def make_history(
    seed: int, customers: int, orders: int, changes: int, duplicates: float = 0.03
) -> History:
    sales = SalesConfig(seed=seed, customers=customers, duplicate_ratio=duplicates, bad_ratio=0.01)
    profiles = ProfilesConfig(seed=seed, customers=customers, changes=changes)
    merged = heapq.merge(
        ((e.time_ms, 0, "profiles", e.key, e.value) for e in iter_profiles(profiles)),
        (
            (e.time_ms, 1, "orders", e.key, e.value)
            for e in itertools.islice(iter_orders(sales), orders)
        ),
    )
    return History([(kind, key, value) for _t, _o, kind, key, value in merged])


@dataclass
class KeyedPublisher:
    """The SDK producer of an input product, keyed and placed by customer id as the
    generators publish; bad records go out as they are, as the sales generator's do."""

    producer: ProductProducer

    def publish(self, key: str, value: dict[str, Any]) -> None:
        self.producer.publish(value, key=key, partition_by=key)

    def flush(self) -> None:
        assert self.producer.flush() == 0


@dataclass
class Mesh:
    """The products of one test: topics, a registry, publishers and output readers."""

    bootstrap_servers: str
    registry_url: str
    app_id: str
    orders_topic: str
    profiles_topic: str
    cltv_topic: str
    segments_topic: str
    model: CltvModel
    publishers: dict[str, KeyedPublisher] = field(default_factory=dict)

    def publish(self, history: History, start: int = 0, stop: int | None = None) -> None:
        for kind, key, value in history.events[start:stop]:
            self.publishers[kind].publish(key, value)
        for publisher in self.publishers.values():
            publisher.flush()

    def env(self, **overrides: object) -> dict[str, str]:
        settings = {
            "APP_ID": self.app_id,
            "BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "REGISTRY_URL": self.registry_url,
            "ORDERS_TOPIC": self.orders_topic,
            "PROFILES_TOPIC": self.profiles_topic,
            "CLTV_TOPIC": self.cltv_topic,
            "SEGMENTS_TOPIC": self.segments_topic,
            "AUTO_REGISTER_SCHEMAS": "true",
            "RESYNC_INTERVAL_SECONDS": "2",
            "COMMIT_INTERVAL_SECONDS": "0.5",
            "SESSION_TIMEOUT_SECONDS": "6",
            **{k.upper(): str(v) for k, v in overrides.items()},
        }
        return {f"STREAMMESH_CLTV_{k}": v for k, v in settings.items()}


class LatestValues:
    """Folds a compacted product into its latest decoded value per key, reading as it grows
    (with the client settings `kafka`: the servers, and credentials on a broker that wants them)."""

    def __init__(self, kafka: ClientConfig, registry_url: str, topic: str) -> None:
        self._consumer = Consumer(
            {
                **kafka,
                "group.id": unique_name_for_reader(topic),
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        partitions = self._consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self._consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        self._registry = SchemaRegistryClient({"url": registry_url})
        self._decode = AvroDeserializer(self._registry)
        self.latest: dict[str, dict[str, Any]] = {}

    def poll(self, seconds: float = 0.5) -> int:
        """Read what has arrived; returns how many records."""
        count = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            messages = self._consumer.consume(num_messages=5000, timeout=0.1)
            for message in messages:
                if message.error() is not None:
                    continue
                key, value = self._decode(message.key()), self._decode(message.value())
                assert isinstance(key, str)
                assert isinstance(value, dict)
                self.latest[key] = value
            count += len(messages)
            if not messages and count:
                break
        return count

    def close(self) -> None:
        self._consumer.close()
        self._registry.close()


_readers = itertools.count()


def unique_name_for_reader(topic: str) -> str:
    return f"reader.{topic}.{next(_readers)}.{os.getpid()}"


def customer_view(value: dict[str, Any]) -> tuple[object, ...]:
    return (
        value["segment"],
        value["lifetime_value"],
        value["net_revenue"],
        value["order_count"],
        millis(value["first_order_time"]),
        millis(value["last_order_time"]),
    )


def expected_customer_view(value: CustomerValue) -> tuple[object, ...]:
    return (
        value.segment,
        value.lifetime_value,
        value.net_revenue,
        value.order_count,
        value.first_order_ms,
        value.last_order_ms,
    )


def segment_view(value: dict[str, Any]) -> tuple[int, Decimal, Decimal]:
    return (
        int(value["customer_count"]),
        value["total_lifetime_value"],
        value["average_lifetime_value"],
    )


@dataclass(frozen=True)
class Expected:
    customers: dict[str, tuple[object, ...]]
    segments: dict[str, tuple[int, Decimal, Decimal]]


def expected(history: History, model: CltvModel) -> Expected:
    values = customer_values(history.orders(), history.profiles(), model)
    segments: dict[str, SegmentValue] = segment_values(values.values())
    return Expected(
        {k: expected_customer_view(v) for k, v in values.items()},
        {k: (v.customers, v.total, v.average) for k, v in segments.items()},
    )


def outputs(cltv: LatestValues, segments: LatestValues) -> Expected:
    return Expected(
        {k: customer_view(v) for k, v in cltv.latest.items()},
        # a segment whose last customer left reads zero; the batch does not list it
        {k: segment_view(v) for k, v in segments.latest.items() if v["customer_count"]},
    )


def wait_for_outputs(mesh: Mesh, want: Expected, timeout: float = 120.0) -> Expected:
    """The outputs once they equal `want`, or as they are when `timeout` runs out."""
    kafka: ClientConfig = {"bootstrap.servers": mesh.bootstrap_servers}
    topics = (mesh.cltv_topic, mesh.segments_topic)
    return wait_for_products(kafka, mesh.registry_url, topics, want, timeout)


def wait_for_products(
    kafka: ClientConfig,
    registry_url: str,
    topics: tuple[str, str],
    want: Expected,
    timeout: float = 120.0,
) -> Expected:
    """`wait_for_outputs` on the (customer value, segment) product topics `topics`, read with
    the client settings `kafka`."""
    cltv = LatestValues(kafka, registry_url, topics[0])
    segments = LatestValues(kafka, registry_url, topics[1])
    try:
        deadline = time.monotonic() + timeout
        while True:
            cltv.poll()
            segments.poll()
            got = outputs(cltv, segments)
            if got == want or time.monotonic() > deadline:
                return got
            time.sleep(0.5)
    finally:
        cltv.close()
        segments.close()


@pytest.fixture
def mesh(
    bootstrap_servers: str,
    admin: AdminClient,
    topic_factory: TopicFactory,
    registry_factory: RegistryFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Mesh]:
    """Fresh input and output topics, a registry, and the processor's app id."""
    app_id = unique_name(request, "cltv")
    the_mesh = Mesh(
        bootstrap_servers=bootstrap_servers,
        registry_url=registry_factory(),
        app_id=app_id,
        orders_topic=topic_factory(partitions=6, suffix=".orders"),
        profiles_topic=topic_factory(partitions=6, config=COMPACT, suffix=".profiles"),
        cltv_topic=topic_factory(partitions=6, config=COMPACT, suffix=".cltv"),
        segments_topic=topic_factory(partitions=1, config=COMPACT, suffix=".segments"),
        model=load_model(),
    )
    settings = MeshSettings(bootstrap_servers=bootstrap_servers, registry_url=the_mesh.registry_url)
    with SdkMesh(settings) as sdk:
        # in the catalog, but written to this test's topics: no canonical topics are made
        for kind, descriptor, topic in (
            ("orders", ORDERS, the_mesh.orders_topic),
            ("profiles", PROFILES, the_mesh.profiles_topic),
        ):
            ref = sdk.apply_product(descriptor, topics=False).ref
            producer = sdk.producer(ref, topic=topic, on_invalid="send")
            the_mesh.publishers[kind] = KeyedPublisher(producer)
        yield the_mesh
        for publisher in the_mesh.publishers.values():
            publisher.producer.close()
    # the app's internal topics: changelogs and the partials topic
    internal = [t for t in admin.list_topics(timeout=10).topics if t.startswith(app_id)]
    if internal:
        for future in admin.delete_topics(internal, operation_timeout=30).values():
            future.result(timeout=30)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/cltv/stats", timeout=5)
        response.raise_for_status()
        body = response.json()
        assert isinstance(body, dict)
        return body

    def applied(self) -> int:
        try:
            counts = self.stats()["counts"]
        except httpx.HTTPError:
            return 0
        return sum(v for k, v in counts.items() if k.startswith(("orders.", "profiles.")))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


WorkerFactory = Callable[..., Worker]


@pytest.fixture
def worker_factory(mesh: Mesh, tmp_path: Path) -> Iterator[WorkerFactory]:
    """Start CLTV workers (`python -m domains.marketing.cltv`); all are stopped after the test."""
    workers: list[Worker] = []

    def start(ready_timeout: float = 60.0, **settings: object) -> Worker:
        port = int(str(settings.pop("web_port", free_port())))
        index = len(workers)
        log = tmp_path / f"worker{index}.log"
        env = {
            **os.environ,
            **mesh.env(web_port=port, data_dir=tmp_path / f"worker{index}", **settings),
        }
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "domains.marketing.cltv"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, f"http://127.0.0.1:{port}", log)
        workers.append(worker)
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {process.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                if worker.stats()["partitions"]:
                    return worker
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)

    yield start
    for worker in workers:
        worker.stop()
