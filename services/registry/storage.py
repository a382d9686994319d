"""The registry's log on Kafka: one compacted, single-partition topic is the source of truth.

A reader thread follows the topic from the beginning and hands each batch to the event loop,
so the in-memory state is only ever changed on the loop's thread. Every instance builds its
state the same way: from the log.

Only the elected leader writes (see ``election.py``), through a transactional producer whose
``transactional.id`` is the log's: opening the writer calls ``init_transactions``, which fences
every older producer with that id (a deposed leader's writes fail from then on), then reads the
log to its end before anything is written. Writes that arrive together share one transaction
and one read-back (a group commit); each returns once the reader has applied it
(read-your-writes).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
)
from confluent_kafka import TopicPartition as KafkaPartition
from confluent_kafka.admin import AdminClient

from services.registry.errors import NotLeaderError, StoreError, StoreTimeoutError
from streammesh.sdk.errors import SdkError, TopicsNotReadyError
from streammesh.sdk.topics import TopicSpec, ensure_topics
from streammesh.security import KafkaSecurity, kafka_client_config

log = logging.getLogger(__name__)

Entry = tuple[bytes, bytes | None]  # key, value (None is a tombstone)
Apply = Callable[[Sequence[Entry]], None]

TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    # Every write must reach the log before it is acknowledged to a client.
    "min.insync.replicas": "1",
}
#: Errors of a partition whose leader is being elected or moved: worth asking again.
_MOVING = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._TIMED_OUT,
    }
)
#: The least time given to aborting a failed transaction.
_ABORT_SECONDS = 5.0
#: Entries one transaction carries at most; more wait for the next one.
MAX_BATCH_ENTRIES = 1000


@dataclass
class _Waiter:
    offset: int
    future: asyncio.Future[None]


@dataclass
class _Pending:
    entries: list[Entry]
    done: asyncio.Future[None]


class KafkaLog:
    """Replays the topic into ``apply``; when opened as the writer, group-commits entries."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        apply: Apply,
        *,
        write_timeout: float = 10.0,
        init_timeout: float = 60.0,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        #: Every client of the log connects with this (servers and credentials).
        self.kafka_config = kafka_client_config(bootstrap_servers, security)
        self.topic = topic
        self._apply = apply
        self._write_timeout = write_timeout
        self._init_timeout = init_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: Consumer | None = None
        self._offsets: Consumer | None = None  # asks the log's end, never polled
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._position = 0  # next offset to apply, only touched on the loop
        self._waiters: list[_Waiter] = []
        self._caught_up = asyncio.Event()
        self._start_end = 0
        self._reader_error: BaseException | None = None
        # Writing: only while this instance is the fenced, caught-up writer.
        self._producer: Producer | None = None
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._generation = 0
        self._wanted = False  # opened by the election and not closed since
        self._opening = asyncio.Lock()

    @property
    def transactional_id(self) -> str:
        """One per log: every registry instance writing this log shares it, so each new
        writer fences the one before."""
        return f"{self.topic}.writer"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Ensure the topic, replay it, and return once the state has caught up."""
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._ensure_topic)
        config = {
            **self.kafka_config,
            # Assigned, not subscribed: every instance reads the whole log.
            "group.id": f"_streammesh.registry.{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 10,
        }
        self._consumer = Consumer(config, logger=log)
        self._offsets = Consumer(config, logger=log)
        partition = KafkaPartition(self.topic, 0, OFFSET_BEGINNING)
        self._consumer.assign([partition])
        self._start_end = await self._log_end()
        if self._start_end <= 0:
            self._caught_up.set()
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
        await self.close_writer()
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10.0)
        for consumer in (self._consumer, self._offsets):
            if consumer is not None:
                await asyncio.to_thread(consumer.close)
        self._consumer = self._offsets = None
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(StoreError("The registry is shutting down"))

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set() and self._reader_error is None

    @property
    def position(self) -> int:
        return self._position

    async def _log_end(self) -> int:
        """The log's end as a read_committed reader sees it: the last stable offset.

        Asked through a consumer of its own: the reader's blocks such queries while its
        thread polls."""
        assert self._offsets is not None
        deadline = time.monotonic() + self._init_timeout
        while True:
            try:
                _low, high = await asyncio.to_thread(
                    self._offsets.get_watermark_offsets, KafkaPartition(self.topic, 0), 10.0, False
                )
                return int(high)
            except KafkaException as error:
                # A topic just created, or a leader moving: asked again until it settles.
                if not error.args[0].retriable() and error.args[0].code() not in _MOVING:
                    raise
                if time.monotonic() > deadline:
                    raise StoreTimeoutError(
                        f"The end of {self.topic} is unknown: {error}"
                    ) from error
                await asyncio.sleep(0.2)

    def _ensure_topic(self) -> None:
        admin = AdminClient(self.kafka_config)
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
                # poll returns as soon as one record arrives; consume(0) takes what is buffered.
                first = consumer.poll(0.1)
                messages = [first, *consumer.consume(999, 0)] if first is not None else []
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
                # The position counts aborted records, markers and compaction gaps too.
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

    async def wait_for_position(self, position: int, within: float | None = None) -> None:
        """Return once every record before ``position`` is applied (a follower's read-back),
        waiting at most ``within`` seconds (the write timeout by default)."""
        within = self._write_timeout if within is None else within
        if position <= self._position:
            return
        if self._reader_error is not None:
            raise StoreError(f"The registry log failed: {self._reader_error}")
        assert self._loop is not None
        waiter = _Waiter(position - 1, self._loop.create_future())
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), within)
        except TimeoutError as error:
            raise StoreTimeoutError(
                f"The registry log did not reach offset {position} in {within:g}s"
            ) from error

    # -- the writer (event loop; Kafka calls in threads) -------------------------------------

    @property
    def is_writer(self) -> bool:
        return self._producer is not None

    @property
    def generation(self) -> int:
        """Changes whenever what was written may differ from what was validated: this instance
        became the writer, stopped being it, or a write failed. A state built for writes is
        rebuilt from the log when it changes."""
        return self._generation

    async def open_writer(self) -> None:
        """Become the only writer: fence every older producer of this log, then catch up."""
        async with self._opening:  # the election and a failed write may both reopen
            if self._producer is None:
                await self._open_writer()

    async def _open_writer(self) -> None:
        self._wanted = True
        producer = Producer(
            {
                **self.kafka_config,
                "transactional.id": self.transactional_id,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 0,
                "transaction.timeout.ms": int(max(self._write_timeout * 3, 10) * 1000),
            },
            logger=log,
        )
        try:
            # Aborts the transaction a deposed writer left open, and fences that writer.
            await asyncio.to_thread(producer.init_transactions, self._init_timeout)
            await self.wait_for_position(await self._log_end(), self._init_timeout)
        except BaseException:
            await asyncio.to_thread(producer.flush, 0)
            raise
        self._producer = producer
        self._generation += 1
        log.info("registry log writer open at offset %d", self._position)

    async def close_writer(self, why: str = "this instance is not the leader") -> None:
        """Stop writing: queued writes fail with ``NotLeaderError``; a batch in flight ends."""
        self._wanted = False
        producer, self._producer = self._producer, None
        if producer is None:
            return
        self._generation += 1
        self._fail_queued(NotLeaderError(f"No longer the registry's leader: {why}"))
        if self._flusher is not None:
            with suppress(BaseException):
                await self._flusher
        await asyncio.to_thread(producer.flush, 0)
        log.info("registry log writer closed: %s", why)

    def submit(
        self, entries: Sequence[Entry], generation: int | None = None
    ) -> asyncio.Future[None]:
        """Queue ``entries`` for the next transaction; the future settles once they are applied.

        With ``generation``, refused unless it is still current: the entries were validated
        against a state a failed write has since invalidated.
        """
        if self._producer is None:
            raise NotLeaderError("This registry instance is not the leader")
        if generation is not None and generation != self._generation:
            raise StoreError("A write failed meanwhile; the registry rebuilt its state, retry")
        if self._reader_error is not None:
            raise StoreError(f"The registry log failed: {self._reader_error}")
        assert self._loop is not None
        pending = _Pending(list(entries), self._loop.create_future())
        self._queue.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = self._loop.create_task(self._flush())
        return pending.done

    async def write(self, entries: Sequence[Entry]) -> None:
        """Produce ``entries`` in order and return once they are applied to the state."""
        if entries:
            await self.submit(entries)

    async def settled(self) -> None:
        """Return once every write is either applied or failed, and the state is at the log's
        end: the point from which a state for writes can be rebuilt."""
        if self._producer is None:
            raise NotLeaderError("This registry instance is not the leader")
        while self._flusher is not None and not self._flusher.done():
            with suppress(BaseException):
                await asyncio.shield(self._flusher)
        await self.wait_for_position(await self._log_end())

    async def _flush(self) -> None:
        """One transaction at a time; each read-back overlaps the next transaction."""
        while self._queue and self._producer is not None:
            batch: list[_Pending] = []
            size = 0
            while self._queue and (
                not batch or size + len(self._queue[0].entries) <= MAX_BATCH_ENTRIES
            ):
                pending = self._queue.pop(0)
                batch.append(pending)
                size += len(pending.entries)
            producer = self._producer
            entries = [entry for pending in batch for entry in pending.entries]
            try:
                last = await asyncio.to_thread(self._commit, producer, entries)
            except Exception as error:  # noqa: BLE001 - any failure fails the batch, worded
                await self._write_failed(batch, error)
                continue
            readback = asyncio.ensure_future(self.wait_for_position(last + 1))
            readback.add_done_callback(functools.partial(_settle, batch))

    def _commit(self, producer: Producer, entries: list[Entry]) -> int:
        """One transaction carrying ``entries``; returns the offset of the last (thread)."""
        offsets: list[int] = []
        errors: list[KafkaError] = []

        def report(error: KafkaError | None, message: Message) -> None:
            offset = message.offset()
            if error is not None:
                errors.append(error)
            elif offset is not None:
                offsets.append(offset)

        producer.begin_transaction()
        try:
            for key, value in entries:
                producer.produce(self.topic, key=key, value=value, on_delivery=report)
            if producer.flush(self._write_timeout) > 0:
                raise StoreTimeoutError(
                    f"Write to {self.topic} was not acknowledged within {self._write_timeout:g}s"
                )
            if errors:
                raise KafkaException(errors[0])
            producer.commit_transaction(self._write_timeout)
        except BaseException:
            # Not aborted here: the writes waiting on this batch are failed first (see
            # `_write_failed`), however long the abort takes.
            raise
        return max(offsets)

    def _abort(self, producer: Producer) -> bool:
        """End a failed transaction; False when the producer is past saving (thread)."""
        try:
            producer.abort_transaction(max(self._write_timeout, _ABORT_SECONDS))
        except KafkaException as error:
            log.warning("aborting a registry log transaction failed: %s", error)
            return False
        return True

    async def _write_failed(self, batch: list[_Pending], error: Exception) -> None:
        """Fail the batch and everything validated after it; fenced means deposed."""
        self._generation += 1
        fenced = _is_fenced(error)
        for pending in batch:
            if not pending.done.done():
                pending.done.set_exception(_store_error(error))
        self._fail_queued(_store_error(error))
        producer = self._producer
        if producer is None:
            return
        if fenced:
            log.warning("the registry log writer was fenced by a newer leader: %s", error)
            self._producer = None
            await asyncio.to_thread(producer.flush, 0)
            return
        if await asyncio.to_thread(self._abort, producer):
            # Nothing of the batch is in the log; the state for writes is rebuilt from it.
            log.error("a write to the registry log failed and was aborted: %s", error)
            return
        # The transaction is in an unknown state: a new producer's init_transactions ends it.
        log.error("a write to the registry log failed, reopening the writer: %s", error)
        self._producer = None
        await asyncio.to_thread(producer.flush, 0)
        if self._wanted:
            try:
                await self.open_writer()
            except Exception as reopening:  # noqa: BLE001 - the election retries it later
                log.warning("could not reopen the registry log writer: %s", reopening)

    def _fail_queued(self, error: Exception) -> None:
        queued, self._queue = self._queue, []
        for pending in queued:
            if not pending.done.done():
                pending.done.set_exception(error)


def _settle(batch: list[_Pending], readback: asyncio.Future[None]) -> None:
    error = readback.exception() if not readback.cancelled() else StoreError("cancelled")
    for pending in batch:
        if pending.done.done():
            continue
        if error is None:
            pending.done.set_result(None)
        else:
            pending.done.set_exception(error)


def _is_fenced(error: BaseException) -> bool:
    if not isinstance(error, KafkaException) or not error.args:
        return False
    kafka_error = error.args[0]
    return isinstance(kafka_error, KafkaError) and (
        kafka_error.fatal()
        or kafka_error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED)
    )


def _store_error(error: Exception) -> Exception:
    """What a write's caller sees: a fenced writer is not the leader; the rest as raised
    (the registry's mutations word Kafka's failures as Confluent's store error)."""
    if _is_fenced(error):
        return NotLeaderError(f"This registry instance was fenced by a newer leader: {error}")
    if isinstance(error, KafkaException) and error.args[0].code() == KafkaError._TIMED_OUT:
        return StoreTimeoutError(f"Write to the registry log timed out: {error}")
    return error
