"""Faust's fetch loop without a task and a wait per record, and records handled as fetched.

Faust pitfalls handled here:

- Faust hands every fetched record to its topic callback through `wait_first(callback(message),
  suspend_flow.wait())`, so that a callback blocked by flow control returns when a rebalance
  suspends the flow. That creates two tasks, a future and a wait per record: about a tenth of a
  worker's time. Nearly every callback finishes without suspending (decode, put on a queue
  with room), so `deliver` runs it inline; one that does suspend is handed to a task and raced
  against `suspend_flow` as Faust does. The loop is Faust 0.15.3's `Consumer._drain_messages`
  otherwise (the version is pinned).
- Records of the topics in `App.inline` skip Faust's conductor, channel queue, stream and event
  altogether: the fetch loop hands each to its handler as it comes, then acks it on the
  consumer as a stream would (a commit covers only acked records and flushes the producer
  first). A record fetched while the flow is stopped waits for it, or is dropped when a
  rebalance suspends it, like Faust's own callback; after the rebalance the consumer seeks
  back to the committed offsets.
- Faust fixes aiokafka's `fetch_max_wait_ms` at 1.5 s: `App(fetch_max_wait_ms=...)` sets it.
- aiokafka's `seek_to_committed` leaves a partition without a committed offset where it is,
  past the records Faust dropped when the flow stopped: `ConsumerThread` sends such a stream
  partition back to its start.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Mapping
from typing import Any, ClassVar, TypeVar, cast

import faust
from aiokafka import AIOKafkaConsumer
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, ConsumerT, Message, TransportT

from streammesh.faust.credentials import broker_credentials
from streammesh.security import KafkaSecurity

InlineHandler = Callable[[Message], None]
M = TypeVar("M")


@types.coroutine
def _resume(coroutine: Coroutine[Any, Any, Any], waiting: Any) -> Generator[Any, None, Any]:
    """Go on with `coroutine`, which suspended on the future `waiting`, inside a task."""
    yield waiting  # the task waits for that future, as the coroutine itself would have
    return (yield from coroutine)  # a native coroutine, already started


async def deliver(
    callback: Callable[[M], Awaitable[Any]],
    message: M,
    race: Callable[[asyncio.Future[Any]], Awaitable[None]],
) -> None:
    """`callback(message)`, inline when it never suspends; otherwise raced against `race`."""
    coroutine = cast(Coroutine[Any, Any, Any], callback(message))
    try:
        waiting = coroutine.send(None)
    except StopIteration:
        return
    rest = asyncio.ensure_future(_resume(coroutine, waiting))
    await race(rest)


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Faust fixes 1.5 s. aiokafka sends no fetch to a broker while one is in flight, so a
        # fetch of only idle partitions (a quiet input, while the others' records are still
        # being processed) held the busy ones back that long, and a CLTV worker at 5,000
        # orders/s settled into 2 s cycles, 1.5 s behind. The long poll bounds that stall.
        consumer._fetch_max_wait_ms = cast(App, self.app).fetch_max_wait_ms
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        return cast(Mapping[TP, int], await self.call_thread(self._seek_to_committed))

    async def _seek_to_committed(self) -> Mapping[TP, int]:
        """aiokafka's `seek_to_committed`, and a stream partition never committed to its start.

        Faust drops records it fetched when the flow stops (a rebalance) and relies on this
        seek to fetch them again; aiokafka leaves a partition without a committed offset
        where it is, past the dropped records. Such a partition goes back to where the reset
        policy started it, as after a restart: what it processed meanwhile comes again.
        """
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        changelogs = self.app.tables.changelog_topics  # positioned by table recovery
        never = [
            tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs
        ]
        if never and self.app.conf.consumer_auto_offset_reset == "earliest":
            await consumer.seek_to_beginning(*never)
        return cast(Mapping[TP, int], committed)  # aiokafka's TopicPartition: Faust's TP


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - Faust's loop
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        set_flag, unset_flag = self.diag.set_flag, self.diag.unset_flag
        yield_every, num_since_yield = 100, 0
        stopped: tuple[type[BaseException], ...] = (
            *self.consumer_stopped_errors,
            asyncio.CancelledError,
        )
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait: AsyncIterator[tuple[TP, Message]] = getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await asyncio.sleep(0)
                            num_since_yield = 0
                        await self._fetched(tp, message)
                    unset_flag(CONSUMER_FETCHING)
        except stopped:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)

    async def _fetched(self, tp: TP, message: Message) -> None:
        offset = message.offset
        r_offset = self._read_offset[tp]
        if r_offset is None or offset >= r_offset:
            gap = offset - (r_offset or 0)
            if gap > 1 and r_offset and self.app.topics.acks_enabled_for(message.topic):
                await self._add_gap(tp, r_offset + 1, offset)
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
            handler = self._inline.get(message.topic)
            if handler is None:
                await deliver(self.callback, message, self._race_suspend_flow)
            elif await self._may_process(message):
                handler(message)
                self._acked_inline(tp, message)
            self._read_offset[tp] = offset

    def _acked_inline(self, tp: TP, message: Message) -> None:
        """Faust's `track_message` then `ack`, for a record handled before anything else ran.

        Nothing waits for its ack (it never was pending) and no other thread acks it, so the
        lock, the pending set, its notification and the per-record sensor call are left out;
        the acked offsets, which commits are computed from, are kept exactly as `ack` does.
        """
        message.acked = True
        offset = message.offset
        committed = self._committed_offset[tp]
        if committed is None or offset >= committed:
            acked_index = self._acked_index[tp]
            if offset not in acked_index:
                acked_index.add(offset)
                self._acked[tp].append(offset)
                self._n_acked += 1

    @property
    def _inline(self) -> dict[str, InlineHandler]:
        return cast(App, self.app).inline

    async def _may_process(self, message: Message) -> bool:
        """Whether the flow lets `message` through now (the stream's checks, at fetch time)."""
        app = self.app
        if not app.flow_control.is_active():
            waited = await self.wait_first(app.flow_control.acquire(), self.suspend_flow.wait())
            if self.suspend_flow.is_set() or waited.stopped:
                return False
        return message.generation_id == app.consumer_generation_id

    async def _race_suspend_flow(self, task: asyncio.Future[Any]) -> None:
        await self.wait_first(task, self.suspend_flow.wait())  # cancels the loser


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[type[ConsumerT]] = Consumer


class App(faust.App):
    """A Faust app whose consumer runs the fetch loop above (Kafka brokers only), signed in
    to Kafka as `security` says (default: the `STREAMMESH_*` environment)."""

    #: Topic name -> the function that processes its records as they are fetched.
    inline: dict[str, InlineHandler]
    #: How long the broker may hold a fetch for records to arrive (aiokafka's long poll).
    fetch_max_wait_ms: int = 100

    def __init__(
        self,
        *args: Any,
        fetch_max_wait_ms: int = 100,
        security: KafkaSecurity | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, broker_credentials=broker_credentials(security), **kwargs)
        self.inline = {}
        self.fetch_max_wait_ms = fetch_max_wait_ms

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)
