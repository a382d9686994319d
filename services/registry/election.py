"""One writer among the registry's instances, elected through Kafka's group membership.

Every leader-eligible instance joins one consumer group subscribed to the log topic, which has
one partition: the member the group assigns it to is the leader, as Confluent Schema Registry
and Karapace elect theirs. A leader that dies or is partitioned away leaves the group when its
session times out, and the partition (so the leadership) moves to another member.

Once assigned, an instance opens the log's writer, which fences every older writer and reads
the log to its end (``storage.py``), then writes a LEADER record naming its advertised URL:
every instance reads the log, so every follower learns where to forward writes from it. When
the partition is revoked or lost, the writer is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Final

from confluent_kafka import Consumer, KafkaException
from confluent_kafka import TopicPartition as KafkaPartition

from services.registry.errors import NotLeaderError
from services.registry.storage import Entry, KafkaLog

log = logging.getLogger(__name__)

LEADER: Final = "LEADER"
LEADER_KEY: Final = b'{"keytype":"LEADER","magic":0}'
#: How often an elected instance whose writer is closed (say, fenced) checks again.
_WATCH_SECONDS: Final = 1.0


def leader_entry(url: str, elected_ms: int) -> Entry:
    return LEADER_KEY, json.dumps({"url": url, "elected": elected_ms}).encode()


class Leadership:
    """Where writes go: this instance when it holds the writer, else the leader's URL.

    The URL comes from the newest LEADER record, or from a fixed primary URL that overrides
    the election (an instance so configured never writes).
    """

    def __init__(
        self, own_url: str, is_writer: Callable[[], bool], fixed_url: str | None = None
    ) -> None:
        self.own_url = own_url.rstrip("/")
        self._is_writer = is_writer
        self._fixed = fixed_url is not None
        self._url = fixed_url.rstrip("/") if fixed_url is not None else None
        self._changed = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return not self._fixed and self._is_writer()

    @property
    def leader_url(self) -> str | None:
        """The leader's URL when it is another instance; None while none is known."""
        if self._url == self.own_url and not self._fixed:
            return None  # a record of our own past leadership: a new leader is being chosen
        return self._url

    def apply(self, value: bytes | None) -> None:
        """Fold a LEADER record in (the log reader calls this on the loop)."""
        if self._fixed or value is None:
            return
        try:
            url = str(json.loads(value)["url"]).rstrip("/")
        except (ValueError, KeyError, TypeError):
            log.warning("skipping an unreadable LEADER record %r", value[:200])
            return
        if url != self._url:
            self._url = url
            log.info("the registry's leader is %s", url)
        self.changed()

    def changed(self) -> None:
        """Wake everyone waiting for a leader (a new URL, or this instance's writer opened)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def resolve(self, within: float, *, not_url: str | None = None) -> str | None:
        """None when this instance is the leader, else the leader's URL (other than
        ``not_url``, one that just failed); waits up to ``within`` seconds for one."""
        deadline = time.monotonic() + within
        while True:
            if self.is_leader:
                return None
            url = self.leader_url
            if url is not None and (url != not_url or self._fixed):
                return url
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotLeaderError(
                    "No registry leader is known right now (an election may be under way); "
                    "retry shortly"
                )
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, _WATCH_SECONDS))


class Election:
    """Membership of this instance in the registry's leader group, and what follows from it."""

    def __init__(
        self,
        kafka_log: KafkaLog,
        leadership: Leadership,
        *,
        session_timeout_ms: int,
        join_timeout: float,
    ) -> None:
        self.kafka_log = kafka_log
        self.leadership = leadership
        self.group_id = f"{kafka_log.topic}.leader"
        self._session_timeout_ms = session_timeout_ms
        self._join_timeout = join_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: Consumer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._joined = asyncio.Event()
        self._elected = False
        self._closed_since: float | None = None  # elected, but the writer has been closed since
        self._announced = False  # the LEADER record of this leadership is in the log
        self._reconciling: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def elected(self) -> bool:
        return self._elected

    async def start(self) -> None:
        """Join the group; return once the first assignment is known (leader or follower)."""
        self._loop = asyncio.get_running_loop()
        self._consumer = Consumer(
            {
                **self.kafka_log.kafka_config,
                "group.id": self.group_id,
                "client.id": f"streammesh-registry {self.leadership.own_url}",
                "session.timeout.ms": self._session_timeout_ms,
                "heartbeat.interval.ms": max(self._session_timeout_ms // 6, 250),
                # The leader keeps the partition when others join: no needless handovers.
                "partition.assignment.strategy": "cooperative-sticky",
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
                "enable.partition.eof": False,
            },
            logger=log,
        )
        self._consumer.subscribe(
            [self.kafka_log.topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        self._thread = threading.Thread(target=self._poll, name="registry-election", daemon=True)
        self._thread.start()
        self._watch = self._loop.create_task(self._watch_writer())
        try:
            await asyncio.wait_for(self._joined.wait(), self._join_timeout)
            if self._reconciling is not None:  # elected: serve once the writer is open
                await asyncio.wait_for(asyncio.shield(self._reconciling), self._join_timeout)
        except TimeoutError:
            log.warning("the registry's leader group %s did not settle yet", self.group_id)

    async def stop(self) -> None:
        """Leave the group at once (another member takes over without waiting a session)."""
        for task in (self._watch, self._reconciling):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10.0)
        if self._consumer is not None:
            await asyncio.to_thread(self._consumer.close)
            self._consumer = None
        self._elected = False
        await self.kafka_log.close_writer("the registry is shutting down")

    # -- the group (thread) ------------------------------------------------------------------

    def _poll(self) -> None:
        assert self._consumer is not None
        while not self._stopping.is_set():
            try:
                self._consumer.poll(0.2)  # records are ignored: only membership matters
            except KafkaException as error:
                log.warning("registry leader group: %s", error)
                time.sleep(0.5)

    def _on_assign(self, _consumer: Consumer, partitions: list[KafkaPartition]) -> None:
        # Cooperative rebalancing hands over increments: an empty one changes nothing.
        self._notify(assigned=True if partitions else None)

    def _on_revoke(self, _consumer: Consumer, partitions: list[KafkaPartition]) -> None:
        self._notify(assigned=False if partitions else None)

    def _notify(self, *, assigned: bool | None) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._membership, assigned)

    # -- what follows (event loop) ------------------------------------------------------------

    def _membership(self, assigned: bool | None) -> None:
        self._joined.set()
        if assigned is None or assigned == self._elected:
            return  # an incremental assignment that changed nothing of ours
        self._elected = assigned
        log.info("registry %s %s", self.leadership.own_url, "elected" if assigned else "deposed")
        self._reconcile()

    def _reconcile(self) -> None:
        if self._reconciling is None or self._reconciling.done():
            assert self._loop is not None
            self._reconciling = self._loop.create_task(self._follow_election())

    async def _follow_election(self) -> None:
        """Open or close the writer to match the election's latest answer; what still does
        not match after a few passes (a writer that keeps failing) the watch retries."""
        for _ in range(3):
            if self._elected and not self.kafka_log.is_writer:
                try:
                    await self.kafka_log.open_writer()
                except Exception as error:  # noqa: BLE001 - retried while still elected
                    log.warning("could not take the registry's leadership yet: %s", error)
                    await asyncio.sleep(_WATCH_SECONDS)
                    continue
                self._announced = False
                self.leadership.changed()
                await self._announce()
            elif not self._elected and self.kafka_log.is_writer:
                await self.kafka_log.close_writer()
                self.leadership.changed()
            else:
                return

    async def _announce(self) -> None:
        """Tell the followers where the leader is: a LEADER record naming this instance."""
        try:
            elected_ms = int(time.time() * 1000)
            await self.kafka_log.write([leader_entry(self.leadership.own_url, elected_ms)])
            self._announced = True
        except Exception as error:  # noqa: BLE001 - the watch retries it
            log.warning("could not announce the registry's leader yet: %s", error)

    async def _watch_writer(self) -> None:
        """An elected instance whose writer was fenced (a member that was deposed and came
        back) reopens it after a session timeout, if the group still says it leads."""
        grace = self._session_timeout_ms / 1000
        while True:
            await asyncio.sleep(_WATCH_SECONDS)
            if self.kafka_log.is_writer and not self._announced:
                await self._announce()
            if self._elected and self.kafka_log.is_writer:
                self._closed_since = None
            elif not self._elected:
                self._closed_since = None
                if self.kafka_log.is_writer:
                    self._reconcile()
            elif self._closed_since is None:
                self._closed_since = time.monotonic()
            elif time.monotonic() - self._closed_since > grace:
                self._closed_since = None
                self._reconcile()
