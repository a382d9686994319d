"""Our local broker keeps committed records and group offsets across a clean restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streammesh.broker import LocalBroker
from streammesh.testing.kafka import KafkaUnderTest, local_broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def own_broker(kafka: KafkaUnderTest, tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker of this test's own: restarting the session's would disturb other tests."""
    if kafka.kind != "local":
        pytest.skip(f"restarts need the project's own broker, not an {kafka.kind} Kafka")
    broker = local_broker(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "restart-group",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )


def _seq(message: Message) -> int:
    value = message.value()
    assert message.error() is None
    assert value is not None
    return int(value)


def test_records_and_group_offsets_survive_restart(own_broker: LocalBroker) -> None:
    bootstrap = own_broker.status().bootstrap_servers
    assert bootstrap is not None
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("durable", num_partitions=2, replication_factor=1)])[
        "durable"
    ].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for seq in range(100):
        producer.produce("durable", key=str(seq % 7), value=str(seq).encode())
    assert producer.flush(30) == 0

    consumer = _consumer(bootstrap)
    consumer.assign([TopicPartition("durable", p, 0) for p in (0, 1)])
    first = consumer.consume(num_messages=30, timeout=10)
    consumer.commit(asynchronous=False)  # commits the offsets after these 30
    committed = {
        tp.partition: tp.offset
        for tp in consumer.committed([TopicPartition("durable", p) for p in (0, 1)], timeout=10)
    }
    consumer.close()
    assert sum(max(o, 0) for o in committed.values()) == len(first) == 30

    assert own_broker.stop()
    assert not own_broker.status().running
    restarted = own_broker.start()
    assert restarted.bootstrap_servers == bootstrap  # same ports: clients keep working

    consumer = _consumer(bootstrap)
    after = consumer.committed([TopicPartition("durable", p) for p in (0, 1)], timeout=30)
    assert {tp.partition: tp.offset for tp in after} == committed
    consumer.subscribe(["durable"])
    rest: list[int] = []
    while len(rest) < 70:
        batch = consumer.consume(num_messages=100, timeout=15)
        assert batch, f"only {len(rest)} of the 70 uncommitted records came back"
        rest.extend(_seq(m) for m in batch)
    consumer.close()
    everything = sorted(rest + [_seq(m) for m in first])
    assert everything == list(range(100))  # nothing lost, nothing repeated
