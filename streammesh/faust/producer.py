"""One librdkafka producer for everything a processor writes, flushed before every commit.

Faust pitfalls handled here:

- Faust publishes each record through several futures, callbacks and event-loop turns (its
  producer lookup alone yields three times per record); with a changelog record or two and a
  product record per event, that overhead bounded a worker to hundreds of events per second.
  confluent-kafka's `produce()` queues a record in C and returns: `DirectProducer`. Ordering
  within a partition holds (idempotent producer), which a changelog replayed as a prefix of
  its writes needs.
- `ProducerBuffer.flush()`, which Faust awaits before it commits offsets (at least once),
  returns as soon as no message left the buffer for 0.1 s, with changelog writes still
  queued: a commit then covers events whose state is lost if the worker dies.
  `DrainingProducerBuffer` drains it fully and flushes the `DirectProducer` too, so a
  committed offset's records have all been acknowledged.
- Faust's buffer holds 100 records before it makes the agent wait, which stalls an agent
  writing a few records per event on nearly every event; ours holds 5,000 (commits drain it
  whatever its size).
"""

from __future__ import annotations

import asyncio

import faust
from confluent_kafka import KafkaError, Message, Producer
from faust.transport.producer import ProducerBuffer

from streammesh.sdk.produce import produce
from streammesh.security import KafkaSecurity, kafka_client_config

Headers = list[tuple[str, str | bytes | None]]


class ProducerFailedError(RuntimeError):
    """A record could not be delivered: the worker must not commit past it."""


class DirectProducer:
    #: Serve delivery reports every so many records, so the report queue stays short.
    POLL_EVERY = 1000

    def __init__(
        self, bootstrap_servers: str, *, security: KafkaSecurity | None = None, linger_ms: int = 5
    ) -> None:
        self._config = {
            **kafka_client_config(bootstrap_servers, security),
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
        headers: Headers | None = None,
    ) -> None:
        """Queue a record (waiting while librdkafka's local queue is full)."""
        if self._producer is None:  # made on first use, inside the running worker
            self._producer = Producer(self._config)
        producer = self._producer
        # the common cases without keyword arguments: this runs several times per event
        if headers is not None:
            if partition is None:
                produce(producer, topic, value, key, headers=headers)
            else:
                produce(producer, topic, value, key, partition=partition, headers=headers)
        elif partition is None:
            produce(producer, topic, value, key)
        else:
            produce(producer, topic, value, key, partition=partition)
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


class DrainingProducerBuffer(ProducerBuffer):
    """Faust's buffer of table changelog writes, whose `flush` really drains it, then flushes
    the `DirectProducer` (see the module's docstring)."""

    max_messages = 5000
    direct: DirectProducer | None = None

    async def flush(self) -> None:
        while self.size:
            await self.flush_atmost(None)
        if self.direct is not None:
            await self.direct.flush()


def flush_before_commits(app: faust.App, direct: DirectProducer) -> None:
    """Make every offset commit of `app` wait until Faust's writes and `direct`'s are acked.

    Call it before the app starts: its producer starts its buffer then.
    """
    producer = app.producer
    buffer = DrainingProducerBuffer(loop=producer.loop, beacon=producer.beacon)
    buffer.app = app
    buffer.direct = direct
    producer.buffer = buffer
