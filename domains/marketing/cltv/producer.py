"""One librdkafka producer for everything the processor writes, flushed before every commit.

Faust publishes each record through several futures, callbacks and event-loop turns (its
producer lookup alone yields three times per record); with a changelog record or two and a
product record per order, that overhead bounded a worker to hundreds of orders per second.
confluent-kafka's `produce()` queues a record in C and returns. Ordering within a partition
holds (idempotent producer), which the changelog prefix property of `logic.py` needs, and
`flush()` runs inside Faust's flush before each offset commit (see
`app.DrainingProducerBuffer`), so at least once still holds: a committed offset's records have
all been acknowledged.
"""

from __future__ import annotations

import asyncio
from typing import Any

from confluent_kafka import KafkaError, Message, Producer


class ProducerFailedError(RuntimeError):
    """A record could not be delivered: the worker must not commit past it."""


class DirectProducer:
    #: Serve delivery reports every so many records, so the report queue stays short.
    POLL_EVERY = 1000

    def __init__(self, bootstrap_servers: str, *, linger_ms: int = 5) -> None:
        self._config = {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,  # acks=all, ordered retries
            "linger.ms": linger_ms,
            "partitioner": "murmur2_random",  # where a keyed record goes, like Java's
            # one callback for the producer, called for failures only: a per-record callback
            # and a report per delivered record cost the event loop's thread a share per record
            "on_delivery": self._delivered,
            "delivery.report.only.error": True,
        }
        self._producer: Producer | None = None
        self._queued = 0
        self.error: KafkaError | None = None

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> None:
        if self._producer is None:  # made on first use, inside the running worker
            self._producer = Producer(self._config)
        producer = self._producer
        while True:
            try:
                if headers is not None:
                    extra: dict[str, Any] = {"headers": headers}
                    if partition is not None:
                        extra["partition"] = partition
                    producer.produce(topic, value, key, **extra)
                elif partition is None:
                    producer.produce(topic, value, key)
                else:
                    producer.produce(topic, value, key, partition=partition)
                break
            except BufferError:  # the local queue is full: let deliveries drain
                producer.poll(0.05)
        self._queued += 1
        if self._queued % self.POLL_EVERY == 0:
            producer.poll(0)

    def _delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None and self.error is None:
            self.error = error

    async def flush(self) -> None:
        """Wait until every queued record is acknowledged; raise if any was not."""
        if self._producer is not None:
            producer = self._producer
            while await asyncio.to_thread(producer.flush, 1.0):
                pass  # records still queued (e.g. the broker is restarting): keep waiting
        if self.error is not None:
            raise ProducerFailedError(f"a record was not delivered: {self.error}")
