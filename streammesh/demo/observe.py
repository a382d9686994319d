"""What the demo shows: product throughput and dead letters from Kafka's own offsets, the
CLTV products as their consumers see them, and the quality monitor's view of each product."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import SecretStr

from streammesh.deadletter import dlq_topic
from streammesh.security import KafkaSecurity, kafka_client_config
from streammesh.serde import AvroDeserializer
from streammesh.settings import registry_client_config

CLTV_TOPIC = "marketing.customer_lifetime_value.v1"
SEGMENT_TOPIC = "marketing.cltv_by_segment.v1"


@dataclass
class Snapshot:
    at: float
    records: dict[str, int]  # topic -> records written (sum of end offsets)
    dead_letters: dict[str, int]
    monitor: dict[str, dict[str, Any]]
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: dict[str, dict[str, Any]] = field(default_factory=dict)


class Observer:
    """Follows the CLTV products in a thread; reads offsets and the monitor when asked."""

    def __init__(
        self,
        bootstrap_servers: str,
        registry_url: str,
        registry_user_info: str,
        monitor_url: str | None,
        product_topics: list[str],
        security: KafkaSecurity,
    ) -> None:
        self.topics = product_topics
        self.monitor_url = monitor_url
        self._kafka = kafka_client_config(bootstrap_servers, security)
        self._admin = AdminClient(self._kafka)
        self._offsets = Consumer({**self._kafka, "group.id": "_streammesh.demo.offsets"})
        self._registry = SchemaRegistryClient(
            registry_client_config(registry_url, SecretStr(registry_user_info))
        )
        self.customers: dict[str, dict[str, Any]] = {}
        self.segments: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="demo-observer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._offsets.close()
        self._registry.close()

    def _follow(self) -> None:
        consumer = Consumer(
            {
                **self._kafka,
                "group.id": "_streammesh.demo.view",
                "enable.auto.commit": False,
            }
        )
        decode = AvroDeserializer(self._registry)
        assigned = False
        try:
            while not self._stop.is_set():
                if not assigned:
                    assigned = self._assign(consumer)
                    if not assigned:
                        time.sleep(1)
                        continue
                for message in consumer.consume(500, timeout=0.5):
                    if message.error() is not None or message.key() is None:
                        continue
                    topic = message.topic() or ""
                    ctx = SerializationContext(topic, MessageField.VALUE)
                    with contextlib.suppress(Exception):  # the view never stops the demo
                        value = decode(message.value(), ctx)
                        if isinstance(value, dict) and topic == CLTV_TOPIC:
                            self.customers[str(value.get("customer_id"))] = value
                        elif isinstance(value, dict):
                            self.segments[str(value.get("segment"))] = value
        finally:
            consumer.close()

    def _assign(self, consumer: Consumer) -> bool:
        try:
            metadata = self._admin.list_topics(timeout=5)
        except KafkaException:
            return False
        partitions = [
            TopicPartition(topic, p, OFFSET_BEGINNING)
            for topic in (CLTV_TOPIC, SEGMENT_TOPIC)
            if topic in metadata.topics
            for p in metadata.topics[topic].partitions
        ]
        if len({tp.topic for tp in partitions}) < 2:
            return False
        consumer.assign(partitions)
        return True

    def _written(self, topic: str) -> int:
        try:
            metadata = self._admin.list_topics(topic, timeout=5).topics.get(topic)
            if metadata is None or metadata.error is not None:
                return 0
            total = 0
            for partition in metadata.partitions:
                _low, high = self._offsets.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=5
                )
                total += high  # written so far, compaction aside
            return total
        except KafkaException:
            return 0

    def _monitor(self) -> dict[str, dict[str, Any]]:
        if self.monitor_url is None:
            return {}
        try:
            answer = httpx.get(f"{self.monitor_url}/products", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return {}
        rows = answer.get("products", answer) if isinstance(answer, dict) else answer
        if not isinstance(rows, list):
            return {}
        return {str(r.get("ref") or r.get("topic")): r for r in rows if isinstance(r, dict)}

    def snapshot(self) -> Snapshot:
        return Snapshot(
            at=time.monotonic(),
            records={t: self._written(t) for t in self.topics},
            dead_letters={t: self._written(dlq_topic(t)) for t in self.topics},
            monitor=self._monitor(),
            customers=dict(self.customers),
            segments=dict(self.segments),
        )


def money(value: object) -> str:
    if isinstance(value, Decimal | int | float):
        return f"{Decimal(str(value)):,.2f}"
    return str(value)
