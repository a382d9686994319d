"""The registry's log on Kafka: one compacted, single-partition topic is the source of truth.

A reader thread follows the topic from the beginning and hands each batch to the event loop,
so the in-memory state is only ever changed on the loop's thread. A write is produced, then
awaited until the reader has applied it (read-your-writes), so every instance, primary or
replica, builds its state the same way: from the log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer
from confluent_kafka import TopicPartition as KafkaPartition
from confluent_kafka.admin import AdminClient

from services.registry.errors import StoreError, StoreTimeoutError
from streammesh.sdk.errors import SdkError, TopicsNotReadyError
from streammesh.sdk.topics import TopicSpec, ensure_topics

log = logging.getLogger(__name__)

Entry = tuple[bytes, bytes | None]  # key, value (None is a tombstone)
Apply = Callable[[Sequence[Entry]], None]

TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    # Every write must reach the log before it is acknowledged to a client.
    "min.insync.replicas": "1",
}


@dataclass
class _Waiter:
    offset: int
    future: asyncio.Future[None]


class KafkaLog:
    """Replays the topic into ``apply`` and writes entries with read-back."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        apply: Apply,
        *,
        write_timeout: float = 10.0,
        init_timeout: float = 60.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self._apply = apply
        self._write_timeout = write_timeout
        self._init_timeout = init_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._position = 0  # next offset to apply, only touched on the loop
        self._waiters: list[_Waiter] = []
        self._caught_up = asyncio.Event()
        self._start_end = 0
        self._reader_error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Ensure the topic, replay it, and return once the state has caught up."""
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._ensure_topic)
        self._consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap_servers,
                # Assigned, not subscribed: every instance reads the whole log.
                "group.id": f"_streammesh.registry.{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,
            },
            logger=log,
        )
        partition = KafkaPartition(self.topic, 0, OFFSET_BEGINNING)
        self._consumer.assign([partition])
        low, high = await asyncio.to_thread(
            self._consumer.get_watermark_offsets, KafkaPartition(self.topic, 0), 10.0
        )
        self._start_end = high
        if high <= low:
            self._caught_up.set()
        self._producer = Producer(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 0,
            },
            logger=log,
        )
        self._thread = threading.Thread(target=self._read, name="registry-log-reader", daemon=True)
        self._thread.start()
        try:
            await asyncio.wait_for(self._caught_up.wait(), self._init_timeout)
        except TimeoutError as error:
            raise StoreTimeoutError(
                f"Replaying {self.topic} did not catch up within {self._init_timeout:g}s "
                f"({self._position} of {self._start_end} offsets)"
            ) from error

    async def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10.0)
        if self._consumer is not None:
            await asyncio.to_thread(self._consumer.close)
            self._consumer = None
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, 5.0)
            self._producer = None  # freed now, not whenever the app object is collected
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(StoreError("The registry is shutting down"))

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set() and self._reader_error is None

    @property
    def position(self) -> int:
        return self._position

    def _ensure_topic(self) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        try:
            admin.list_topics(timeout=10)
        except KafkaException as error:
            raise StoreError(
                f"Kafka at {self.bootstrap_servers} does not answer: {error}"
            ) from error
        spec = TopicSpec(self.topic, partitions=1, config=TOPIC_CONFIG)
        try:
            # Creates the topic unless it exists (another instance may create it at the same
            # time) and waits for its leader: offsets cannot be read until it has one.
            ensure_topics(admin, [spec], replication_factor=-1, timeout=self._init_timeout)
        except TopicsNotReadyError as error:
            raise StoreTimeoutError(
                f"{self.topic} has no leader after {self._init_timeout:g}s"
            ) from error
        except SdkError as error:
            raise StoreError(f"Could not create {self.topic}: {error.__cause__}") from error
        except KafkaException as error:  # describing the topic failed
            raise StoreError(f"Could not create {self.topic}: {error}") from error

    # -- reading (thread) ------------------------------------------------------------------

    def _read(self) -> None:
        assert self._consumer is not None
        assert self._loop is not None
        consumer, loop = self._consumer, self._loop
        try:
            while not self._stopping.is_set():
                messages = consumer.consume(num_messages=1000, timeout=0.1)
                entries: list[Entry] = []
                for message in messages:
                    error = message.error()
                    if error is not None:
                        if error.fatal():
                            raise KafkaException(error)
                        log.warning("registry log: %s", error)
                        continue
                    key = message.key()
                    if key is not None:
                        entries.append((key, message.value()))
                # The position counts aborted records and compaction gaps too.
                position = consumer.position([KafkaPartition(self.topic, 0)])[0].offset
                if entries or (position >= 0 and position != self._position):
                    loop.call_soon_threadsafe(self._applied, entries, position)
        except BaseException as error:  # handed to the loop, which fails the writes
            log.exception("registry log reader stopped")
            loop.call_soon_threadsafe(self._failed, error)

    # -- applying (event loop) -------------------------------------------------------------

    def _applied(self, entries: list[Entry], position: int) -> None:
        if entries:
            self._apply(entries)
        if position >= 0:
            self._position = max(self._position, position)
        if not self._caught_up.is_set() and self._position >= self._start_end:
            self._caught_up.set()
        remaining: list[_Waiter] = []
        for waiter in self._waiters:
            if waiter.offset < self._position:
                if not waiter.future.done():
                    waiter.future.set_result(None)
            else:
                remaining.append(waiter)
        self._waiters = remaining

    def _failed(self, error: BaseException) -> None:
        self._reader_error = error
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(StoreError(f"The registry log failed: {error}"))
        self._waiters = []

    # -- writing ---------------------------------------------------------------------------

    async def write(self, entries: Sequence[Entry]) -> None:
        """Produce ``entries`` in order and return once they are applied to the state."""
        if not entries:
            return
        if self._reader_error is not None:
            raise StoreError(f"The registry log failed: {self._reader_error}")
        assert self._producer is not None
        assert self._loop is not None
        loop, producer = self._loop, self._producer
        delivered: list[asyncio.Future[int]] = [loop.create_future() for _ in entries]

        def report(future: asyncio.Future[int]) -> Callable[[KafkaError | None, object], None]:
            def on_delivery(error: KafkaError | None, message: object) -> None:
                offset = getattr(message, "offset", lambda: -1)()
                loop.call_soon_threadsafe(_settle, future, error, offset)

            return on_delivery

        # A refused produce (too large, queue full) raises here; the caller words it.
        for (key, value), future in zip(entries, delivered, strict=True):
            producer.produce(self.topic, key=key, value=value, on_delivery=report(future))
        try:
            await asyncio.wait_for(self._flush_and_wait(delivered), self._write_timeout)
        except TimeoutError as error:
            raise StoreTimeoutError(
                f"Write to {self.topic} was not acknowledged within {self._write_timeout:g}s"
            ) from error

    async def _flush_and_wait(self, delivered: list[asyncio.Future[int]]) -> None:
        assert self._producer is not None
        await asyncio.to_thread(self._producer.flush, self._write_timeout)
        offsets = await asyncio.gather(*delivered)
        await self.wait_for_position(max(offsets) + 1)

    async def wait_for_position(self, position: int) -> None:
        """Return once every record before ``position`` is applied (a replica's read-back)."""
        if position <= self._position:
            return
        if self._reader_error is not None:
            raise StoreError(f"The registry log failed: {self._reader_error}")
        assert self._loop is not None
        waiter = _Waiter(position - 1, self._loop.create_future())
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), self._write_timeout)
        except TimeoutError as error:
            raise StoreTimeoutError(
                f"The registry log did not reach offset {position} in {self._write_timeout:g}s"
            ) from error


def _settle(future: asyncio.Future[int], error: KafkaError | None, offset: int) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(StoreError(f"Write to the registry log failed: {error.str()}"))
    else:
        future.set_result(offset)
