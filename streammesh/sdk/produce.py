"""Queue a record on a confluent-kafka `Producer`, the one way every StreamMesh writer does it."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Producer


def produce(
    producer: Producer,
    topic: str,
    value: bytes | None,
    key: bytes | None = None,
    *,
    poll_seconds: float = 0.1,
    **options: Any,
) -> None:
    """`producer.produce(topic, value, key, **options)`, waiting while the local queue is full.

    librdkafka raises `BufferError` when `queue.buffering.max.messages` records wait to be
    sent; serving delivery reports (`poll`) makes room, so the record is queued rather than
    lost or raised to a caller that can do nothing but retry. `options` are `produce`'s own:
    `partition`, `headers`, `timestamp`, `on_delivery`.
    """
    while True:
        try:
            producer.produce(topic, value, key, **options)
            return
        except BufferError:
            producer.poll(poll_seconds)
