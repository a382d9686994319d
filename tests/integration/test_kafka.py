"""The session's Kafka is a real broker: topics, configs, ordering and keyed round trips hold."""

from __future__ import annotations

from collections import defaultdict

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from tests.conftest import TopicFactory

pytestmark = pytest.mark.integration


def test_admin_creates_topic_with_partitions_and_configs(
    admin: AdminClient, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(
        partitions=6, config={"cleanup.policy": "compact", "retention.ms": "3600000"}
    )

    metadata = admin.list_topics(topic, timeout=10)
    assert len(metadata.topics[topic].partitions) == 6
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["cleanup.policy"].value == "compact"
    assert configs["retention.ms"].value == "3600000"


def test_keyed_round_trip_keeps_per_partition_order_and_headers(
    bootstrap_servers: str, topic_factory: TopicFactory, group_id: str
) -> None:
    topic = topic_factory(partitions=4)
    count, keys = 10_000, 50
    # Order per partition holds across retries only with idempotence (librdkafka's default is off).
    producer = Producer(
        {"bootstrap.servers": bootstrap_servers, "linger.ms": 5, "enable.idempotence": True}
    )
    for seq in range(count):
        producer.produce(
            topic,
            key=f"customer-{seq % keys}",
            value=str(seq).encode(),
            headers=[("seq", str(seq).encode()), ("source", b"test")],
        )
        producer.poll(0)
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    by_partition: dict[int, list[int]] = defaultdict(list)
    partitions_of_key: dict[str, set[int]] = defaultdict(set)
    seen = 0
    try:
        while seen < count:
            batch = consumer.consume(num_messages=1000, timeout=10)
            assert batch, f"stalled after {seen} records"
            for message in batch:
                assert message.error() is None
                value, key, partition = message.value(), message.key(), message.partition()
                assert value is not None
                assert key is not None
                assert partition is not None
                seq = int(value)
                assert message.headers() == [("seq", str(seq).encode()), ("source", b"test")]
                by_partition[partition].append(seq)
                partitions_of_key[key.decode()].add(partition)
                seen += 1
    finally:
        consumer.close()

    assert sorted(s for seqs in by_partition.values() for s in seqs) == list(range(count))
    assert all(seqs == sorted(seqs) for seqs in by_partition.values())
    assert all(len(parts) == 1 for parts in partitions_of_key.values())  # key -> one partition
    assert len(by_partition) > 1  # the keys really spread over partitions
