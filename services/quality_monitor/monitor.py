"""The consuming loop: follow the catalog, check every record, dead-letter the failures.

One thread owns the consumer, the producer and every product's state; the HTTP side only reads
snapshots. Each turn the loop applies the newest read of the catalog (`follower.py`), takes a
batch, has it checked (`batch.py`), sends its dead letters through the ledger (`ledger.py`)
and commits what the ledger settled. Delivery is at least once: a batch's offsets are committed
only after every dead letter of it, and of every batch before it, is acknowledged by Kafka
(acks=all, idempotent producer). The loop does not wait for them: it goes on checking while at
most `batches_in_flight` batches have letters outstanding, serves delivery reports each turn
and commits the batches whose letters are all in, oldest first. A crash before a commit checks
the uncommitted records again, so a dead letter may appear twice but never goes missing. When a
dead letter is refused, or the registry cannot be read, the partition is rewound to the first
record not yet settled (later batches in flight commit nothing of it) and checked again after a
pause.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import httpx
from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from services.quality_monitor.batch import BatchChecker, TopicPartitionKey
from services.quality_monitor.catalog import CatalogReader
from services.quality_monitor.checks import EventTimeLimits
from services.quality_monitor.follower import CatalogFollower
from services.quality_monitor.ledger import DeadLetterLedger
from services.quality_monitor.metrics import MonitorMetrics, ProductGauges, Snapshot
from services.quality_monitor.settings import MonitorSettings
from streammesh.deadletter import dlq_topic

log = logging.getLogger(__name__)

_LAG_INTERVAL_SECONDS: Final = 1.0
_DELIVERY_WAIT_SECONDS: Final = 0.1  # one wait for delivery reports when too much is in flight
_TIMEOUT_SECONDS: Final = 10.0


# Collect cycles once this many more container objects were made than freed (CPython: 700).
GC_THRESHOLD: Final = 50_000


def tune_garbage_collector() -> None:
    """Garbage collection for a process whose main work is the checking loop; call once, at
    start-up. A batch's decoded records are freed by reference counting when it is settled, but
    while it is checked, 700 of them started a collection that walked them all (several per
    batch), and every so often a full one walked every object of the process (~0.1 s). So
    collections start only past `GC_THRESHOLD` objects, and what start-up made is frozen out
    of them."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, older, oldest)


def consumer_config(settings: MonitorSettings) -> dict[str, Any]:
    """The consumer's configuration; the benchmark's baseline consumes with the same."""
    return {
        **settings.kafka_config(),
        "group.id": settings.group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": int(settings.session_timeout_seconds * 1000),
        "topic.metadata.refresh.interval.ms": 5000,
    }


def take_batch(
    consumer: Consumer,
    batch_size: int,
    timeout: float,
    assignments: Callable[[], int] | None = None,
) -> list[Message]:
    """Up to `batch_size` messages: those already fetched, else the first to come within
    `timeout` and whatever came with it. `consume(n, timeout)` alone waits for n messages or
    the whole timeout, so a partial batch (the tail of a backlog, or a quiet topic) would wait
    the full timeout. The benchmark's baseline takes its batches the same way.

    `assignments` counts the rebalances seen: when one runs inside the `consume` after the
    wait, the first message belongs to the assignment it replaced and is dropped (the
    partition's owner, maybe this consumer again, resumes from its committed offset)."""
    messages = consumer.consume(batch_size, 0)
    if messages:
        return messages
    first = consumer.poll(timeout)
    if first is None:
        return []
    if batch_size == 1:
        return [first]
    before = None if assignments is None else assignments()
    rest = consumer.consume(batch_size - 1, 0)
    if assignments is not None and assignments() != before:
        return rest
    return [first, *rest]


def producer_config(settings: MonitorSettings) -> dict[str, Any]:
    return {
        **settings.kafka_config(),
        "acks": "all",
        "enable.idempotence": True,
        # A batch's offsets wait for its dead letters, but the next batches are checked
        # meanwhile (`batches_in_flight`), so a short linger costs no throughput; not lingering
        # at all woke the sender thread for almost every letter, at several times the cost.
        "linger.ms": 5,
    }


@dataclass(frozen=True, slots=True)
class ProductStatus:
    """What `/products` shows for one product."""

    ref: str
    topic: str
    subject: str
    dlq_topic: str
    value_version: int
    subscribed: bool
    available: bool | None
    checked: int
    failed: int
    freshness_seconds: float | None
    lag_records: int | None


class MonitorView(Protocol):
    """What the HTTP side reads of a monitor: one `QualityMonitor` or a `WorkerPool` of them."""

    @property
    def ready(self) -> bool: ...

    @property
    def alive(self) -> bool: ...

    def statuses(self) -> list[ProductStatus]: ...


class QualityMonitor:
    """Runs the loop in its own thread between `start()` and `stop()`."""

    def __init__(
        self,
        settings: MonitorSettings,
        metrics: MonitorMetrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._follower = CatalogFollower(settings, metrics)
        self._checker = BatchChecker(
            EventTimeLimits.of_seconds(settings.max_future_seconds, settings.max_past_seconds)
        )
        self._ledger = DeadLetterLedger(self._stopping, self._follower.recorder_of)
        self._next_offsets: dict[TopicPartitionKey, int] = {}  # for the lag; may be unsettled
        self._high: dict[TopicPartitionKey, int] = {}
        self._assigned: frozenset[TopicPartitionKey] = frozenset()
        self._assignments = 0  # rebalance callbacks run so far
        self._subscription: tuple[str, ...] = ()
        self._assignment_seen = False
        self._producer: Producer | None = None
        self.error: BaseException | None = None

    # --- lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="quality-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- what the HTTP side reads

    @property
    def ready(self) -> bool:
        """Caught up: the catalog was read and every assigned partition is checked to its end."""
        if not self.alive or not self._follower.read_once:
            return False
        if not self._subscription:
            return True
        if not self._assignment_seen:
            return False
        lags = self._lags()
        return all(lag is not None and lag <= self.settings.ready_max_lag for lag in lags.values())

    def snapshot(self) -> Snapshot:
        now_ms = self._clock() * 1000
        lags = self._product_lags()
        products = {
            w.ref: ProductGauges(
                freshness_seconds=None
                if w.newest_event_ms is None
                else max(0.0, (now_ms - w.newest_event_ms) / 1000),
                lag_records=lags.get(topic),
                available=w.available,
            )
            for topic, w in self._follower.watched.items()
        }
        return Snapshot(products, self.ready)

    def statuses(self) -> list[ProductStatus]:
        snap = self.snapshot()
        found = []
        for topic, w in sorted(self._follower.watched.items()):
            gauges = snap.products[w.ref]
            found.append(
                ProductStatus(
                    ref=w.ref,
                    topic=topic,
                    subject=w.product.value_subject,
                    dlq_topic=dlq_topic(topic),
                    value_version=w.product.value_version,
                    subscribed=w.subscribed,
                    available=w.available,
                    checked=w.checked,
                    failed=w.failed,
                    freshness_seconds=gauges.freshness_seconds,
                    lag_records=gauges.lag_records,
                )
            )
        return found

    def _lags(self) -> dict[TopicPartitionKey, int | None]:
        lags: dict[TopicPartitionKey, int | None] = {}
        for tp in self._assigned:
            high, position = self._high.get(tp), self._next_offsets.get(tp)
            lags[tp] = None if high is None or position is None else max(0, high - position)
        return lags

    def _product_lags(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (topic, _), lag in self._lags().items():
            if lag is not None:
                totals[topic] = totals.get(topic, 0) + lag
        return totals

    # --- the loop

    def _run(self) -> None:
        settings = self.settings
        auth = None
        if settings.registry_username is not None:
            password = settings.registry_password
            auth = httpx.BasicAuth(
                settings.registry_username, password.get_secret_value() if password else ""
            )
        consumer = Consumer(consumer_config(settings))
        producer = Producer(producer_config(settings))
        admin = AdminClient(settings.kafka_config())
        registry = SchemaRegistryClient(settings.registry_client_config())
        self._producer = producer
        try:
            with httpx.Client(
                base_url=settings.registry_url, auth=auth, timeout=_TIMEOUT_SECONDS
            ) as http:
                self._loop(consumer, producer, admin, CatalogReader(http), registry)
        except BaseException as exc:
            self.error = exc
            log.exception("the quality monitor stopped on an error")
            raise
        finally:
            remaining = producer.flush(_TIMEOUT_SECONDS)
            if remaining:
                log.warning("%d dead letters not acknowledged at shutdown", remaining)
            try:  # what is acknowledged now is committed; the rest is checked again
                self._commit_settled(consumer, asynchronous=False)
            finally:
                consumer.close()
                registry.close()

    def _loop(
        self,
        consumer: Consumer,
        producer: Producer,
        admin: AdminClient,
        catalog: CatalogReader,
        registry: SchemaRegistryClient,
    ) -> None:
        settings = self.settings
        done = threading.Event()
        reader = threading.Thread(
            target=self._follower.follow,
            args=(catalog, admin, registry, done),
            name="quality-monitor-catalog",
            daemon=True,
        )
        reader.start()
        next_lag = 0.0
        try:
            while not self._stopping.is_set():
                wanted = self._follower.apply_pending(registry)
                if wanted is not None and wanted != self._subscription:
                    self._subscribe(consumer, wanted)
                if not self._subscription:
                    self._stopping.wait(min(settings.poll_timeout_seconds, 0.1))
                    continue
                self._step(self._take(consumer), consumer, producer)
                if time.monotonic() >= next_lag:
                    self._refresh_high_watermarks(consumer)
                    next_lag = time.monotonic() + _LAG_INTERVAL_SECONDS
        finally:
            done.set()
            reader.join(_TIMEOUT_SECONDS * 2)

    def _take(self, consumer: Consumer) -> list[Message]:
        """The next batch, without messages fetched before a rebalance that ran meanwhile, or
        of partitions no longer assigned: checked here, they would be committed by a consumer
        that may not own them, past records their owner has not checked."""
        before = self._assignments
        settings = self.settings
        messages = take_batch(
            consumer, settings.batch_size, settings.poll_timeout_seconds, self._count_assignments
        )
        if self._assignments == before:
            return messages
        assigned = self._assigned
        return [
            m for m in messages if m.error() is not None or (m.topic(), m.partition()) in assigned
        ]

    def _count_assignments(self) -> int:
        return self._assignments

    def _step(self, messages: Sequence[Message], consumer: Consumer, producer: Producer) -> None:
        """Check a batch (if any) and send its dead letters, in the order of their records, then
        commit every batch settled since; wait only when `batches_in_flight` batches still have
        letters out."""
        ledger = self._ledger
        if messages:
            checked = self._checker.check(messages, self._follower.watched)
            batch = ledger.send_letters(producer, checked)
            if batch.rewind:
                ledger.rewind(consumer, batch.rewind, self._assigned)
        producer.poll(0)  # delivery reports of the letters in flight
        self._commit_settled(consumer)
        while (
            len(ledger.in_flight) >= self.settings.batches_in_flight and not self._stopping.is_set()
        ):
            producer.poll(_DELIVERY_WAIT_SECONDS)
            self._commit_settled(consumer)

    def _commit_settled(self, consumer: Consumer, *, asynchronous: bool = True) -> None:
        """Commit, oldest first, every batch whose dead letters are all reported on, and rewind
        the partitions of refused letters (`DeadLetterLedger.settle`)."""
        settled = self._ledger.settle(self._assigned)
        if settled.commits:
            self._next_offsets.update(settled.commits)
            self._ledger.commit(consumer, settled.commits, asynchronous=asynchronous)
        if settled.rewind:
            self._ledger.rewind(consumer, settled.rewind, self._assigned)

    # --- subscription and assignment

    def _subscribe(self, consumer: Consumer, wanted: tuple[str, ...]) -> None:
        log.info("subscribing to %s", ", ".join(wanted) or "nothing")
        if wanted:
            self._assignment_seen = False
            consumer.subscribe(list(wanted), on_assign=self._on_assign, on_revoke=self._on_revoke)
        else:
            consumer.unsubscribe()
            self._assigned = frozenset()
        self._subscription = wanted

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assignments += 1
        try:
            committed = consumer.committed(partitions, timeout=_TIMEOUT_SECONDS)
        except KafkaException as exc:
            log.warning("cannot read committed offsets: %s", exc)
            committed = partitions
        for tp in committed:
            key = (tp.topic, tp.partition)
            if tp.offset >= 0:
                self._next_offsets[key] = tp.offset
            else:  # nothing committed: auto.offset.reset=earliest starts at the low watermark
                try:
                    low, high = consumer.get_watermark_offsets(tp, timeout=_TIMEOUT_SECONDS)
                except KafkaException:
                    self._next_offsets.pop(key, None)
                    continue
                self._next_offsets[key] = low
                self._high[key] = high
        self._assigned = self._assigned | {(tp.topic, tp.partition) for tp in partitions}
        self._assignment_seen = True
        log.info("assigned %s", _describe(partitions))
        self._refresh_high_watermarks(consumer)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Settle the batches in flight and commit their offsets for sure before the partitions
        # move, so the next owner does not check them again; a batch whose letters are still
        # out commits nothing of them (the next owner checks those records again).
        self._assignments += 1
        gone = {(tp.topic, tp.partition) for tp in partitions}
        log.info("revoked %s", _describe(partitions))
        if self._producer is not None and self._ledger.in_flight:
            self._producer.flush(_TIMEOUT_SECONDS)
            self._commit_settled(consumer)
        self._ledger.give_up(consumer, gone)
        for key in gone:
            self._next_offsets.pop(key, None)
            self._high.pop(key, None)
        self._assigned = self._assigned - gone

    def _refresh_high_watermarks(self, consumer: Consumer) -> None:
        for topic, partition in self._assigned:
            tp = TopicPartition(topic, partition)
            try:
                _, high = consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:
                    _, high = consumer.get_watermark_offsets(tp, timeout=_TIMEOUT_SECONDS)
            except KafkaException:
                continue
            if high >= 0:
                self._high[(topic, partition)] = high
            if self._next_offsets.get((topic, partition), OFFSET_INVALID) < 0:
                position = consumer.position([tp])[0].offset
                if position >= 0:
                    self._next_offsets[(topic, partition)] = position


def _describe(partitions: Sequence[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
