"""The launcher's SASL broker authenticates every client with SCRAM-SHA-512 and lets its super
user, the platform admin, do everything; unchanged confluent-kafka clients reach it with the
settings `streammesh.security` builds."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from pydantic import SecretStr

from streammesh.security import KafkaSecurity, SecurityProtocol
from streammesh.testing.kafka import SaslKafka

pytestmark = pytest.mark.integration


def test_the_admin_creates_produces_and_consumes(sasl_kafka: SaslKafka) -> None:
    topic = f"test.admin.{uuid.uuid4().hex[:8]}"
    admin = AdminClient(sasl_kafka.config())
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    producer = Producer({**sasl_kafka.config(), "acks": "all", "enable.idempotence": True})
    producer.produce(topic, b"hello")
    assert producer.flush(30) == 0
    consumer = Consumer(
        {**sasl_kafka.config(), "group.id": f"test.{topic}", "auto.offset.reset": "earliest"}
    )
    try:
        consumer.subscribe([topic])
        message = None
        for _ in range(60):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                break
        assert message is not None
        assert message.value() == b"hello"
    finally:
        consumer.close()


def test_a_client_without_credentials_gets_nothing(sasl_kafka: SaslKafka) -> None:
    anonymous = AdminClient({"bootstrap.servers": sasl_kafka.bootstrap_servers, "log_level": 0})
    with pytest.raises(KafkaException):
        anonymous.list_topics(timeout=3)


def test_a_wrong_password_is_refused(sasl_kafka: SaslKafka) -> None:
    wrong = KafkaSecurity(
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        sasl_username=sasl_kafka.admin.sasl_username,
        sasl_password=SecretStr("not-the-password"),
        sasl_password_file=None,
    )
    errors: list[KafkaError] = []
    config: dict[str, Any] = {**sasl_kafka.config(wrong), "error_cb": errors.append}
    admin = AdminClient({**config, "log_level": 0})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(1)  # serves the error callbacks
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors)
