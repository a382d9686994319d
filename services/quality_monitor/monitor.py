"""The consuming loop: follow the catalog, check every record, dead-letter the failures.

One thread owns the consumer, the producer and every product's state; the HTTP side only reads
snapshots. Delivery is at least once: a batch's offsets are committed only after every dead
letter of it, and of every batch before it, is acknowledged by Kafka (acks=all, idempotent
producer). The loop does not wait for them: it goes on checking while at most
`batches_in_flight` batches have letters outstanding, serves delivery reports each turn and
commits the batches whose letters are all in, oldest first. A crash before a commit checks the
uncommitted records again, so a dead letter may appear twice but never goes missing. When a dead
letter is refused, or the registry cannot be read, the partition is rewound to the first record
not yet settled (later batches in flight commit nothing of it) and checked again after a pause.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import httpx
from confluent_kafka import (
    OFFSET_INVALID,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, TopicMetadata
from confluent_kafka.schema_registry import SchemaRegistryClient

from services.quality_monitor.catalog import (
    CatalogReader,
    SubjectResolver,
    subject_readable,
)
from services.quality_monitor.checks import (
    EventTimeLimits,
    Outcome,
    WriterSchema,
    decode_body,
    decode_record,
    judge_batch,
)
from services.quality_monitor.errors import CatalogUnavailableError
from services.quality_monitor.metrics import (
    MonitorMetrics,
    ProductGauges,
    ProductRecorder,
    Snapshot,
)
from services.quality_monitor.settings import MonitorSettings
from streammesh.deadletter import Headers, Source, dead_letter_headers, dlq_topic
from streammesh.products.catalog import DataProductPublic
from streammesh.serde import HEADER_SIZE

log = logging.getLogger(__name__)

_RETRY_PAUSE_SECONDS: Final = 1.0
_LAG_INTERVAL_SECONDS: Final = 1.0
_DELIVERY_WAIT_SECONDS: Final = 0.1  # one wait for delivery reports when too much is in flight
_TIMEOUT_SECONDS: Final = 10.0
_SEEK_ATTEMPTS: Final = 3  # a rewind of a partition still assigned, before the loop gives up

TopicPartitionKey = tuple[str, int]


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
        "bootstrap.servers": settings.bootstrap_servers,
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
        "bootstrap.servers": settings.bootstrap_servers,
        "acks": "all",
        "enable.idempotence": True,
        # A batch's offsets wait for its dead letters, but the next batches are checked
        # meanwhile (`batches_in_flight`), so a short linger costs no throughput; not lingering
        # at all woke the sender thread for almost every letter, at several times the cost.
        "linger.ms": 5,
    }


@dataclass(slots=True)
class Watched:
    """One product the monitor follows, and what it has seen of it."""

    product: DataProductPublic
    resolver: SubjectResolver
    recorder: ProductRecorder
    freshness_ms: int | None
    checked: int = 0
    failed: int = 0
    newest_event_ms: int | None = None
    available: bool | None = None
    subscribed: bool = False

    @property
    def ref(self) -> str:
        return self.product.ref


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


@dataclass(frozen=True, slots=True)
class _CatalogRead:
    """One read of the catalog, made off the loop: the active products, the topics that exist
    (and of those, the ones with a leader for every partition), and whether each value subject
    could be read."""

    products: tuple[DataProductPublic, ...]
    existing: frozenset[str]
    readable: frozenset[str]
    probed: Mapping[str, bool]


@dataclass(slots=True)
class _Batch:
    """One checked batch until it is committed: its offsets, where to rewind, its letters."""

    commit: dict[TopicPartitionKey, int] = field(default_factory=dict)
    rewind: dict[TopicPartitionKey, int] = field(default_factory=dict)  # registry unreadable
    letters: int = 0  # dead letters sent and not yet reported on
    refused: dict[TopicPartitionKey, int] = field(default_factory=dict)  # first refused offset
    acknowledged: dict[str, int] = field(default_factory=dict)  # letters, by product ref
    # Partitions this batch gave up: rewound to an earlier record, or revoked. Their records are
    # checked again (by this consumer after the rewind, or by the next owner), so the batch
    # neither commits them nor heeds a refusal of their letters reported afterwards.
    abandoned: set[TopicPartitionKey] = field(default_factory=set)

    def abandon(self, key: TopicPartitionKey) -> None:
        self.abandoned.add(key)
        self.commit.pop(key, None)
        self.rewind.pop(key, None)
        self.refused.pop(key, None)


@dataclass(slots=True)
class _Tally:
    """What one batch saw of one product, added to its counters once at the batch's end."""

    topic: str
    product: Watched
    recorder: ProductRecorder = field(init=False)
    freshness_ms: int | None = field(init=False)
    checked: dict[int, int] = field(default_factory=dict)  # by writer schema version
    late: dict[int, int] = field(default_factory=dict)  # by writer schema version
    failed: int = 0
    newest: int | None = None  # the newest event time (else Kafka timestamp) seen
    durations: list[float] = field(default_factory=list)  # seconds to check each record
    # The header and writer schema of the last record decoded: most records share both.
    head: bytes = b""
    known: WriterSchema | None = None

    def __post_init__(self) -> None:
        self.recorder = self.product.recorder
        self.freshness_ms = self.product.freshness_ms

    def decode(self, value: bytes | None) -> Outcome | tuple[WriterSchema, Mapping[str, object]]:
        """`decode_record` with the product's resolver; a record with the header of the one
        before is decoded without looking its schema id up again."""
        known = self.known
        if known is not None and value is not None and value[:HEADER_SIZE] == self.head:
            return decode_body(value, known)
        decoded = decode_record(value, self.product.resolver)
        if value is not None and not isinstance(decoded, Outcome):
            self.head, self.known = value[:HEADER_SIZE], decoded[0]
        return decoded

    def add(self, outcome: Outcome, timestamp_ms: int | None) -> None:
        """Count one record with its outcome (`count_many` counts those that passed)."""
        self.count_many(outcome.version, (outcome.event_time_ms,), (timestamp_ms,))
        if outcome.failure is not None:
            self.failed += 1

    def count_many(
        self, version: int, events: Sequence[int | None], stamps: Sequence[int | None]
    ) -> None:
        """Count records of one writer schema version with these event times and Kafka
        timestamps: checked, the newest moment, and those later than the product's freshness."""
        if not events:
            return
        checked = self.checked
        checked[version] = checked.get(version, 0) + len(events)
        moments = [e if e is not None else t for e, t in zip(events, stamps, strict=True)]
        known = [m for m in moments if m is not None]
        if known:
            newest = max(known)
            if self.newest is None or newest > self.newest:
                self.newest = newest
        limit = self.freshness_ms
        if limit is not None:
            late = sum(
                1
                for e, t in zip(events, stamps, strict=True)
                if e is not None and t is not None and t - e > limit
            )
            if late:
                self.late[version] = self.late.get(version, 0) + late


# One record of a batch as the first pass leaves it: the message, its partition and offset, its
# product's tally, its Kafka timestamp, the seconds its decode took, and its decoded record (or
# its outcome, when the checks before the rules settled it).
_Seen = tuple[
    Message,
    TopicPartitionKey,
    int,
    _Tally,
    int | None,
    float,
    Outcome | Mapping[str, object],
]


@dataclass(slots=True)
class _Group:
    """The decoded records of a batch with one writer schema (one product's): their places."""

    writer: WriterSchema
    tally: _Tally
    places: list[int] = field(default_factory=list)


def _first(pair: tuple[int, Outcome]) -> int:
    return pair[0]


def _tally_of(
    topic: str, tallies: dict[str, _Tally], watched: Mapping[str, Watched]
) -> _Tally | None:
    """The batch's tally of `topic`'s product, made on its first record; None when the product
    is no longer watched."""
    tally = tallies.get(topic)
    if tally is None:
        product = watched.get(topic)
        if product is None:
            return None
        tally = tallies[topic] = _Tally(topic, product)
    return tally


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
        self._limits = EventTimeLimits.of_seconds(
            settings.max_future_seconds, settings.max_past_seconds
        )
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._watched: dict[str, Watched] = {}  # by topic; replaced, never mutated, by the loop
        self._next_offsets: dict[TopicPartitionKey, int] = {}  # for the lag; may be unsettled
        self._settled: dict[TopicPartitionKey, int] = {}  # offsets safe to commit, by settling
        self._high: dict[TopicPartitionKey, int] = {}
        self._assigned: frozenset[TopicPartitionKey] = frozenset()
        self._assignments = 0  # rebalance callbacks run so far
        self._subscription: tuple[str, ...] = ()
        self._assignment_seen = False
        self._catalog_read = False
        self._catalog_lock = threading.Lock()
        self._catalog_pending: _CatalogRead | None = None  # read, not yet applied by the loop
        self._registry_client: SchemaRegistryClient | None = None
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._in_flight: deque[_Batch] = deque()  # checked, not committed; oldest first
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
        if not self.alive or not self._catalog_read:
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
            for topic, w in self._watched.items()
        }
        return Snapshot(products, self.ready)

    def statuses(self) -> list[ProductStatus]:
        snap = self.snapshot()
        found = []
        for topic, w in sorted(self._watched.items()):
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
        admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
        self._registry_client = SchemaRegistryClient(settings.registry_client_config())
        self._consumer = consumer
        self._producer = producer
        try:
            with httpx.Client(
                base_url=settings.registry_url, auth=auth, timeout=_TIMEOUT_SECONDS
            ) as http:
                self._loop(consumer, producer, admin, CatalogReader(http))
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
                self._registry_client.close()

    def _loop(
        self, consumer: Consumer, producer: Producer, admin: AdminClient, catalog: CatalogReader
    ) -> None:
        settings = self.settings
        done = threading.Event()
        reader = threading.Thread(
            target=self._follow_catalog,
            args=(catalog, admin, done),
            name="quality-monitor-catalog",
            daemon=True,
        )
        reader.start()
        next_lag = 0.0
        try:
            while not self._stopping.is_set():
                self._apply_pending_catalog(consumer)
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
        """Check a batch (if any), then commit every batch settled since; wait only when
        `batches_in_flight` batches still have letters out."""
        in_flight = self._in_flight
        if messages:
            batch = self._process(messages, producer)
            in_flight.append(batch)
            if batch.rewind:
                self._rewind(consumer, batch.rewind)
        producer.poll(0)  # delivery reports of the letters in flight
        self._commit_settled(consumer)
        while len(in_flight) >= self.settings.batches_in_flight and not self._stopping.is_set():
            producer.poll(_DELIVERY_WAIT_SECONDS)
            self._commit_settled(consumer)

    def _process(self, messages: Sequence[Message], producer: Producer) -> _Batch:
        # The hot path: decode each record (`_decode`), then settle the decoded records of each
        # writer schema together (`_settle_group`: rules evaluated at once, counters tallied
        # per group), and the records the checks before the rules settled one by one. Dead
        # letters go out last, in the order their records came. Counters reach the metrics once
        # per batch and product (`_count`).
        batch = _Batch()
        tallies: dict[str, _Tally] = {}
        seen, groups, settled = self._decode(messages, batch, tallies)
        rejected: list[tuple[int, Outcome]] = []
        for group in groups.values():
            self._settle_group(group, seen, rejected)
        for n in settled:
            _, _, _, tally, timestamp_ms, elapsed, outcome = seen[n]
            assert isinstance(outcome, Outcome)
            tally.durations.append(elapsed)
            tally.add(outcome, timestamp_ms)
            if outcome.failure is not None:
                rejected.append((n, outcome))
        rejected.sort(key=_first)
        for n, outcome in rejected:
            message, key, offset, tally, timestamp_ms, _, _ = seen[n]
            tally.recorder.failed(outcome)
            self._reject(
                producer, batch, message, key, offset, tally.product, outcome, timestamp_ms
            )
        for counted in tallies.values():
            self._count(counted)
        return batch

    def _decode(
        self, messages: Sequence[Message], batch: _Batch, tallies: dict[str, _Tally]
    ) -> tuple[list[_Seen], dict[int, _Group], list[int]]:
        """The first pass: every record decoded (or settled), the places of the decoded ones
        grouped by writer schema, and the places of the settled ones."""
        watched = self._watched
        clock = time.perf_counter
        commit, rewind = batch.commit, batch.rewind
        tally: _Tally | None = None
        seen: list[_Seen] = []
        groups: dict[int, _Group] = {}  # by id of the writer schema
        group: _Group | None = None
        settled: list[int] = []
        last_topic: str | None = None
        last_partition = -1
        key: TopicPartitionKey = ("", -1)
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer: %s", error)
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if topic is None or partition is None or offset is None:
                continue
            if partition != last_partition or topic != last_topic:
                key, last_topic, last_partition = (topic, partition), topic, partition
            if rewind and key in rewind:
                continue  # an earlier record of this partition is to be checked again
            if tally is None or tally.topic != topic:
                tally = _tally_of(topic, tallies, watched)
                if tally is None:  # a product that left the catalog since the fetch
                    commit[key] = offset + 1
                    continue
            kind, timestamp = message.timestamp()
            started = clock()
            try:
                decoded = tally.decode(message.value())
            except CatalogUnavailableError as exc:
                log.warning("%s: %s; checking again from offset %d", topic, exc, offset)
                rewind[key] = offset
                continue
            elapsed = clock() - started
            timestamp_ms = None if kind == TIMESTAMP_NOT_AVAILABLE else timestamp
            if isinstance(decoded, Outcome):
                settled.append(len(seen))
                seen.append((message, key, offset, tally, timestamp_ms, elapsed, decoded))
            else:
                writer, record = decoded
                if group is None or group.writer is not writer:
                    group = groups.setdefault(id(writer), _Group(writer, tally))
                group.places.append(len(seen))
                seen.append((message, key, offset, tally, timestamp_ms, elapsed, record))
            commit[key] = offset + 1
        return seen, groups, settled

    def _settle_group(
        self, group: _Group, seen: list[_Seen], rejected: list[tuple[int, Outcome]]
    ) -> None:
        """The rules of a writer schema over its records at once, each record's duration (its
        decode, plus an even share of the rules' time), the passing ones counted together, and
        each failing one judged, counted and added to `rejected`."""
        writer, tally, places = group.writer, group.tally, group.places
        records: list[Mapping[str, object]] = [seen[n][6] for n in places]  # type: ignore[misc]
        clock = time.perf_counter
        started = clock()
        results = writer.rules.evaluate_batch(records)
        share = (clock() - started) / len(places)
        tally.durations.extend([seen[n][5] + share for n in places])
        stamps = [seen[n][4] for n in places]
        verdict = judge_batch(writer, records, results, stamps, self._limits)
        moments, failed = verdict.event_times, verdict.failed
        if not failed:
            tally.count_many(writer.version, moments, stamps)
            return
        keep = [i for i in range(len(places)) if i not in failed]
        tally.count_many(writer.version, [moments[i] for i in keep], [stamps[i] for i in keep])
        for i, outcome in failed.items():
            tally.add(outcome, stamps[i])
            rejected.append((places[i], outcome))

    @staticmethod
    def _count(tally: _Tally) -> None:
        product, recorder = tally.product, tally.recorder
        recorder.observe(tally.durations)
        for version, count in tally.checked.items():
            recorder.checked(version, count)
        for version, count in tally.late.items():
            recorder.late(version, count)
        product.checked += sum(tally.checked.values())
        product.failed += tally.failed
        newest = tally.newest
        if newest is not None and (
            product.newest_event_ms is None or newest > product.newest_event_ms
        ):
            product.newest_event_ms = newest

    def _reject(
        self,
        producer: Producer,
        batch: _Batch,
        message: Message,
        source: TopicPartitionKey,
        offset: int,
        product: Watched,
        outcome: Outcome,
        timestamp_ms: int | None,
    ) -> None:
        """Send a failed record's dead letter; its headers are built only here."""
        assert outcome.failure is not None
        topic, partition = source
        failure = outcome.failure
        headers = dead_letter_headers(
            message.headers(),
            reason=failure.reason,
            message=failure.message,
            rules=failure.rules,
            product=product.ref,
            subject=product.product.value_subject,
            topic=topic,
            source=Source(partition, offset, timestamp_ms),
        )
        letter = (message.key(), message.value(), headers)
        self._send(
            producer, batch, dlq_topic(topic), (topic, partition), offset, letter, product.ref
        )

    def _send(
        self,
        producer: Producer,
        batch: _Batch,
        topic: str,
        source: TopicPartitionKey,
        offset: int,
        letter: tuple[bytes | None, bytes | None, Headers],
        ref: str,
    ) -> None:
        key, value, headers = letter
        batch.letters += 1

        def delivered(error: KafkaError | None, _message: Message) -> None:
            batch.letters -= 1
            if error is None:
                batch.acknowledged[ref] = batch.acknowledged.get(ref, 0) + 1
                return
            log.warning("dead letter of %s[%d]@%d refused: %s", source[0], source[1], offset, error)
            if source in batch.abandoned:  # checked again from an earlier record anyway
                return
            first = batch.refused.get(source)
            batch.refused[source] = offset if first is None else min(first, offset)

        while True:
            try:
                producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=delivered
                )
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.1)

    def _by_ref(self, ref: str) -> Watched | None:
        for w in self._watched.values():
            if w.ref == ref:
                return w
        return None  # left the catalog while its letters were in flight

    def _commit_settled(self, consumer: Consumer, *, asynchronous: bool = True) -> None:
        """Commit, oldest first, every batch whose dead letters are all reported on; a refused
        letter's partition is rewound to it, and batches after it give it up. Only partitions
        still assigned are committed or rewound."""
        commits, rewind = self._settle()
        if commits:
            self._next_offsets.update(commits)
            self._settled.update(commits)
            offsets = [TopicPartition(t, p, o) for (t, p), o in commits.items()]
            try:
                if asynchronous:
                    consumer.commit(offsets=offsets, asynchronous=True)
                else:
                    consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:  # e.g. during a rebalance: checked again, at least once
                log.warning("commit failed: %s", exc)
        if rewind:
            self._rewind(consumer, rewind)

    def _settle(self) -> tuple[dict[TopicPartitionKey, int], dict[TopicPartitionKey, int]]:
        """Take the settled batches off `_in_flight`: the offsets to commit, and where to
        rewind."""
        in_flight = self._in_flight
        assigned = self._assigned
        commits: dict[TopicPartitionKey, int] = {}
        rewind: dict[TopicPartitionKey, int] = {}
        while in_flight and in_flight[0].letters == 0:
            batch = in_flight.popleft()
            for ref, count in batch.acknowledged.items():
                watched = self._by_ref(ref)
                if watched is not None:
                    watched.recorder.dead_letters(count)
            held, abandoned = batch.rewind, batch.abandoned
            for key, offset in batch.commit.items():
                if key in assigned and key not in abandoned:
                    commits[key] = min(offset, held.get(key, offset))
            for key, offset in held.items():
                if key in assigned and key not in abandoned:
                    commits.setdefault(key, offset)
            for key, first in batch.refused.items():
                if key not in assigned or key in abandoned:
                    continue
                commits[key] = min(commits.get(key, first), first)
                rewind[key] = first
                for later in in_flight:  # checked again from `first` after the rewind
                    later.abandon(key)
        return commits, rewind

    def _rewind(self, consumer: Consumer, offsets: Mapping[TopicPartitionKey, int]) -> None:
        """Check partitions again from these offsets, after a pause. A partition still assigned
        that cannot be rewound stops the loop: going on would check and commit past the
        record (its offset is committed, so a restart resumes there)."""
        for (topic, partition), offset in offsets.items():
            for attempt in range(1, _SEEK_ATTEMPTS + 1):
                try:
                    consumer.seek(TopicPartition(topic, partition, offset))
                    break
                except KafkaException as exc:
                    if (topic, partition) not in self._assigned:  # the next owner resumes there
                        log.info("cannot rewind %s[%d]: %s", topic, partition, exc)
                        break
                    if attempt == _SEEK_ATTEMPTS:
                        raise
                    log.warning("cannot rewind %s[%d], trying again: %s", topic, partition, exc)
                    self._stopping.wait(_DELIVERY_WAIT_SECONDS)
        self._stopping.wait(_RETRY_PAUSE_SECONDS)

    # --- catalog, subscription, assignment

    def _follow_catalog(
        self, catalog: CatalogReader, admin: AdminClient, done: threading.Event
    ) -> None:
        """The catalog reader's thread: reads the catalog, the topics and the subjects (network
        round trips the loop does not wait for) every `catalog_interval_seconds`; the loop
        applies the newest read between two batches."""
        while not done.is_set():
            try:
                read = self._read_catalog(catalog, admin)
            except Exception:  # the loop goes on with the last read; the next one may work
                log.exception("cannot read the catalog")
                read = None
            if read is not None:
                with self._catalog_lock:
                    self._catalog_pending = read
            done.wait(self.settings.catalog_interval_seconds)

    def _read_catalog(self, catalog: CatalogReader, admin: AdminClient) -> _CatalogRead | None:
        try:
            products = catalog.active_products()
        except CatalogUnavailableError as exc:
            self.metrics.catalog_polls.labels("error").inc()
            log.warning("%s", exc)
            return None
        self.metrics.catalog_polls.labels("ok").inc()
        try:
            metadata = admin.list_topics(timeout=_TIMEOUT_SECONDS).topics
        except KafkaException as exc:
            log.warning("cannot list topics: %s", exc)
            metadata = {}
        existing = {t for t, m in metadata.items() if m.error is None}
        assert self._registry_client is not None
        probed = {
            p.value_subject: subject_readable(self._registry_client, p.value_subject)
            for p in products
        }
        for product in products:
            if product.topic in existing and dlq_topic(product.topic) not in existing:
                self._create_dlq(admin, dlq_topic(product.topic))
        return _CatalogRead(
            products=tuple(products),
            existing=frozenset(existing),
            readable=frozenset(t for t in existing if _has_leaders(metadata[t])),
            probed=probed,
        )

    def _apply_pending_catalog(self, consumer: Consumer) -> None:
        with self._catalog_lock:
            read, self._catalog_pending = self._catalog_pending, None
        if read is not None:
            self._apply_catalog(read, consumer)

    def _apply_catalog(self, read: _CatalogRead, consumer: Consumer) -> None:
        """Follow a read of the catalog: the products to watch, and the subscription."""
        assert self._registry_client is not None
        current = self._watched
        updated: dict[str, Watched] = {}
        for product in read.products:
            known = current.get(product.topic)
            if known is not None and known.product.value_subject == product.value_subject:
                if known.product.value_version != product.value_version:
                    known.resolver.forget_unresolved()
                known.product = product
                known.freshness_ms = _freshness_ms(product)
                updated[product.topic] = known
                continue
            log.info("watching %s (%s)", product.ref, product.topic)
            updated[product.topic] = Watched(
                product=product,
                resolver=SubjectResolver(
                    self._registry_client, product.value_subject, self.settings.event_time_fields
                ),
                recorder=self.metrics.recorder(product.ref),
                freshness_ms=_freshness_ms(product),
            )
        for topic, w in updated.items():
            w.available = read.probed.get(w.product.value_subject, False) and topic in read.readable
            w.recorder.probe(w.available)
            w.subscribed = topic in read.existing
        self._watched = updated
        self._catalog_read = True
        wanted = tuple(sorted(t for t, w in updated.items() if w.subscribed))
        if wanted != self._subscription:
            log.info("subscribing to %s", ", ".join(wanted) or "nothing")
            if wanted:
                self._assignment_seen = False
                consumer.subscribe(
                    list(wanted), on_assign=self._on_assign, on_revoke=self._on_revoke
                )
            else:
                consumer.unsubscribe()
                self._assigned = frozenset()
            self._subscription = wanted

    def _create_dlq(self, admin: AdminClient, topic: str) -> None:
        settings = self.settings
        new = NewTopic(
            topic,
            num_partitions=settings.dlq_partitions,
            replication_factor=settings.dlq_replication_factor,
        )
        try:
            admin.create_topics([new], operation_timeout=_TIMEOUT_SECONDS)[topic].result(
                timeout=_TIMEOUT_SECONDS
            )
            log.info("created dead-letter topic %s", topic)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                log.warning("cannot create %s: %s", topic, exc)

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
        if self._producer is not None and self._in_flight:
            self._producer.flush(_TIMEOUT_SECONDS)
            self._commit_settled(consumer)
        for batch in self._in_flight:
            for key in gone:
                batch.abandon(key)
        # Only what settling committed: `_next_offsets` may hold a fetch position, past
        # batches whose letters are still out.
        offsets = [
            TopicPartition(t, p, self._settled[(t, p)])
            for t, p in gone
            if self._settled.get((t, p), -1) >= 0
        ]
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:  # the next owner checks them again: at least once
                log.info("commit on revoke failed: %s", exc)
        for key in gone:
            self._next_offsets.pop(key, None)
            self._settled.pop(key, None)
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


def _freshness_ms(product: DataProductPublic) -> int | None:
    seconds = product.freshness_seconds
    return None if seconds is None else int(seconds * 1000)


def _has_leaders(metadata: TopicMetadata) -> bool:
    partitions = metadata.partitions.values()
    return bool(partitions) and all(p.leader >= 0 for p in partitions)


def _describe(partitions: Sequence[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
