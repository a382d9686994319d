"""The loop keeps checking while dead letters are in flight, yet commits a batch's offsets only
once its letters, and those of every batch before it, are acknowledged; a refused letter's
offset is never committed, and its partition is checked again from it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry

from services.quality_monitor import ledger as ledger_module
from services.quality_monitor.checks import EventTimeLimits, check_record
from services.quality_monitor.metrics import DEAD_LETTERS, MonitorMetrics
from services.quality_monitor.monitor import (
    GC_THRESHOLD,
    QualityMonitor,
    take_batch,
    tune_garbage_collector,
)
from services.quality_monitor.settings import MonitorSettings
from streammesh.testing.metrics import samples
from tests.unit.quality_monitor.fakes import (
    TOPIC,
    FakeConsumer,
    FakeMessage,
    FakeProducer,
    watched_orders,
)
from tests.unit.quality_monitor.samples import NOW, NOW_MS, PROFILES_ID, Resolver, encode, order

GOOD = encode(order())
BAD = encode(order(amount=Decimal("-1.00")))


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "_RETRY_PAUSE_SECONDS", 0.0)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def monitor_factory(registry: CollectorRegistry) -> Iterator[Callable[..., QualityMonitor]]:
    made: list[MonitorMetrics] = []

    def make(**overrides: object) -> QualityMonitor:
        metrics = MonitorMetrics(registry)
        made.append(metrics)
        monitor = QualityMonitor(MonitorSettings.model_validate(overrides), metrics)
        monitor._follower.watched = {TOPIC: watched_orders(metrics)}
        monitor._assigned = frozenset({(TOPIC, 0), (TOPIC, 1)})
        return monitor

    yield make
    for metrics in made:
        metrics.close()


def batch(partition: int, first: int, values: list[bytes]) -> list[FakeMessage]:
    return [FakeMessage(TOPIC, partition, first + n, v) for n, v in enumerate(values)]


def dead_letters_counted(registry: CollectorRegistry) -> float:
    return sum(value for (name, _), value in samples(registry).items() if name == DEAD_LETTERS)


def checked(monitor: QualityMonitor) -> int:
    return sum(w.checked for w in monitor._follower.watched.values())


def step(
    monitor: QualityMonitor, messages: list[FakeMessage], c: FakeConsumer, p: FakeProducer
) -> None:
    monitor._step(messages, c, p)  # type: ignore[arg-type]


def test_a_batch_commits_only_once_its_letters_and_every_earlier_batchs_are_in(
    monitor_factory: Callable[..., QualityMonitor], registry: CollectorRegistry
) -> None:
    monitor = monitor_factory()
    consumer, producer = FakeConsumer(), FakeProducer()
    step(monitor, batch(0, 0, [GOOD, GOOD, BAD, GOOD]), consumer, producer)
    assert consumer.commits == []  # the letter of offset 2 is not acknowledged yet
    # Checking goes on meanwhile; a clean batch still waits for the one before it.
    step(monitor, batch(0, 4, [GOOD, GOOD]) + batch(1, 0, [GOOD]), consumer, producer)
    assert checked(monitor) == 7
    assert consumer.commits == []
    assert dead_letters_counted(registry) == 0
    producer.decide(2)
    step(monitor, [], consumer, producer)
    assert consumer.committed() == {(TOPIC, 0): 6, (TOPIC, 1): 1}
    assert consumer.seeks == []
    assert dead_letters_counted(registry) == 1


def test_commits_keep_the_order_of_the_batches(
    monitor_factory: Callable[..., QualityMonitor],
) -> None:
    monitor = monitor_factory()
    consumer, producer = FakeConsumer(), FakeProducer()
    step(monitor, batch(0, 0, [BAD, GOOD]), consumer, producer)
    step(monitor, batch(0, 2, [GOOD, BAD]), consumer, producer)
    producer.decide(3)  # the later batch's letter is in first: nothing may commit yet
    step(monitor, [], consumer, producer)
    assert consumer.commits == []
    producer.decide(0)
    step(monitor, [], consumer, producer)
    assert consumer.commits == [{(TOPIC, 0): 4}]


def test_a_refused_letter_leaves_its_offset_uncommitted_and_is_checked_again(
    monitor_factory: Callable[..., QualityMonitor], registry: CollectorRegistry
) -> None:
    monitor = monitor_factory()
    consumer, producer = FakeConsumer(), FakeProducer()
    step(monitor, batch(0, 0, [GOOD, GOOD, BAD, GOOD, BAD]), consumer, producer)
    step(monitor, batch(0, 5, [GOOD, BAD]) + batch(1, 0, [GOOD, GOOD]), consumer, producer)
    producer.decide(2, KafkaError(KafkaError._MSG_TIMED_OUT))
    producer.decide()  # the letters of offsets 4 and 6 are acknowledged
    step(monitor, [], consumer, producer)
    # Partition 0 commits up to the refused record, not past it, even though later batches
    # and letters of it were acknowledged; partition 1 is unaffected.
    assert consumer.committed() == {(TOPIC, 0): 2, (TOPIC, 1): 2}
    assert consumer.seeks == [(TOPIC, 0, 2)]
    assert dead_letters_counted(registry) == 2
    # Checked again from there, the partition commits once its letters are in.
    step(monitor, batch(0, 2, [BAD, GOOD, BAD, GOOD, GOOD, BAD]), consumer, producer)
    producer.decide()
    step(monitor, [], consumer, producer)
    assert consumer.committed() == {(TOPIC, 0): 8, (TOPIC, 1): 2}


def test_a_late_refusal_does_not_commit_past_a_partition_checked_again(
    monitor_factory: Callable[..., QualityMonitor],
) -> None:
    monitor = monitor_factory()
    consumer, producer = FakeConsumer(), FakeProducer()
    step(monitor, batch(0, 0, [GOOD, GOOD, BAD]), consumer, producer)  # A: a letter for 2
    step(monitor, batch(0, 3, [GOOD, GOOD, GOOD, BAD]), consumer, producer)  # B: one for 6
    producer.decide(2, KafkaError(KafkaError._MSG_TIMED_OUT))
    step(monitor, [], consumer, producer)
    assert consumer.committed() == {(TOPIC, 0): 2}
    assert consumer.seeks == [(TOPIC, 0, 2)]
    # Checked again from 2: the letter for 2 is sent again and not acknowledged yet.
    step(monitor, batch(0, 2, [BAD, GOOD]), consumer, producer)
    # B's letter for 6 is refused late: B gave the partition up, so it commits nothing of it.
    producer.decide(6, KafkaError(KafkaError._MSG_TIMED_OUT))
    step(monitor, [], consumer, producer)
    assert consumer.committed() == {(TOPIC, 0): 2}
    assert consumer.seeks == [(TOPIC, 0, 2)]
    producer.decide()
    step(monitor, [], consumer, producer)
    assert consumer.committed() == {(TOPIC, 0): 4}


def test_a_refusal_after_a_revocation_does_not_commit_past_a_discarded_one(
    monitor_factory: Callable[..., QualityMonitor],
) -> None:
    monitor = monitor_factory()
    consumer, producer = FakeConsumer(), FakeProducer(flush_decides=False)
    monitor._producer = producer  # type: ignore[assignment]
    step(monitor, batch(0, 0, [GOOD, BAD, GOOD, GOOD, GOOD, BAD]), consumer, producer)
    producer.decide(1, KafkaError(KafkaError._MSG_TIMED_OUT))
    step(monitor, [], consumer, producer)  # the refusal of 1 is recorded; 5 is still out
    monitor._on_revoke(consumer, [TopicPartition(TOPIC, 0)])  # type: ignore[arg-type]
    monitor._assigned = monitor._assigned | {(TOPIC, 0)}  # and assigned again
    producer.decide(5, KafkaError(KafkaError._MSG_TIMED_OUT))
    step(monitor, [], consumer, producer)
    assert (TOPIC, 0) not in consumer.committed()
    assert consumer.seeks == []


@dataclass
class PositionedConsumer(FakeConsumer):
    """Also tells its high watermarks and its fetch positions, at `position`."""

    position_at: int = 0

    def get_watermark_offsets(
        self, tp: TopicPartition, timeout: float | None = None, cached: bool = False
    ) -> tuple[int, int]:
        return 0, 100

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.position_at) for tp in partitions]


def test_a_revocation_commits_only_settled_offsets_not_the_fetch_position(
    monitor_factory: Callable[..., QualityMonitor],
) -> None:
    monitor = monitor_factory()
    consumer, producer = PositionedConsumer(), FakeProducer(flush_decides=False)
    monitor._producer = producer  # type: ignore[assignment]
    step(monitor, batch(0, 0, [GOOD, GOOD, GOOD, BAD, GOOD]), consumer, producer)
    consumer.position_at = 5  # fetched past the batch whose letter for 3 is still out
    monitor._refresh_high_watermarks(consumer)  # type: ignore[arg-type]
    monitor._on_revoke(consumer, [TopicPartition(TOPIC, 0)])  # type: ignore[arg-type]
    assert (TOPIC, 0) not in consumer.committed()


@dataclass
class FailingSeekConsumer(FakeConsumer):
    """Its first `failures` seeks fail."""

    failures: int = 0

    def seek(self, tp: TopicPartition) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise KafkaException(KafkaError(KafkaError._STATE))
        super().seek(tp)


def test_a_failed_rewind_of_an_owned_partition_is_retried_then_stops_the_loop(
    monitor_factory: Callable[..., QualityMonitor],
) -> None:
    monitor = monitor_factory()
    consumer, producer = FailingSeekConsumer(failures=1), FakeProducer()
    step(monitor, batch(0, 0, [GOOD, BAD]), consumer, producer)
    producer.decide(1, KafkaError(KafkaError._MSG_TIMED_OUT))
    step(monitor, [], consumer, producer)
    assert consumer.seeks == [(TOPIC, 0, 1)]  # the second attempt took
    consumer.failures = 100
    step(monitor, batch(0, 1, [BAD]), consumer, producer)
    producer.decide(1, KafkaError(KafkaError._MSG_TIMED_OUT))
    with pytest.raises(KafkaException):  # going on would check and commit past the record
        step(monitor, [], consumer, producer)


def test_checking_waits_while_too_many_batches_are_in_flight(
    monitor_factory: Callable[..., QualityMonitor],
) -> None:
    monitor = monitor_factory(batches_in_flight=2)
    consumer, producer = FakeConsumer(), FakeProducer(acknowledge_on_wait=True)
    step(monitor, batch(0, 0, [BAD]), consumer, producer)
    assert consumer.commits == []  # one batch in flight: no wait
    step(monitor, batch(0, 1, [BAD]), consumer, producer)
    # Two in flight: the step waited for reports before returning, and both are committed.
    assert consumer.committed() == {(TOPIC, 0): 2}
    assert len(monitor._ledger.in_flight) == 0


def test_each_record_of_a_batch_gets_the_verdict_it_gets_alone(
    monitor_factory: Callable[..., QualityMonitor],
) -> None:
    monitor = monitor_factory(max_future_seconds=300, max_past_seconds=86_400)
    limits = EventTimeLimits(max_future_ms=300_000, max_past_ms=86_400_000)
    values = [
        GOOD,
        BAD,
        encode(order(event_time=NOW + timedelta(seconds=300))),
        encode(order(event_time=NOW + timedelta(seconds=301))),
        encode(order(event_time=NOW - timedelta(days=1))),
        encode(order(event_time=NOW - timedelta(days=1, milliseconds=1))),
        encode(order(event_time=NOW + timedelta(days=1), currency="eur")),
        encode(order(), PROFILES_ID),
        b"\x01" + GOOD[1:],
        GOOD,
    ]
    consumer, producer = FakeConsumer(), FakeProducer()
    step(monitor, batch(0, 0, values), consumer, producer)
    expected = {}
    for offset, value in enumerate(values):
        outcome = check_record(value, NOW_MS, Resolver(), limits)
        if outcome.failure is not None:
            expected[offset] = outcome.failure.reason.value
    assert producer.reasons == expected
    assert sorted(expected) == [1, 3, 5, 6, 7, 8]
    (watched,) = monitor._follower.watched.values()
    assert (watched.checked, watched.failed) == (10, 6)


def test_the_garbage_collector_is_tuned_for_the_loop() -> None:
    before = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_threshold() == (GC_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@dataclass
class QueueConsumer:
    """A consumer whose fetched messages are `queued`; `arriving` come during a wait."""

    queued: list[FakeMessage]
    arriving: list[FakeMessage] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        assert timeout == 0  # never waits for a full batch
        taken, self.queued = self.queued[:num_messages], self.queued[num_messages:]
        return taken

    def poll(self, timeout: float) -> FakeMessage | None:
        self.waits.append(timeout)
        self.queued += self.arriving
        self.arriving = []
        return self.queued.pop(0) if self.queued else None


def test_a_partial_batch_is_taken_without_waiting_for_a_full_one() -> None:
    consumer = QueueConsumer(batch(0, 0, [GOOD] * 3))
    assert len(take_batch(consumer, 500, 0.5)) == 3  # type: ignore[arg-type]
    assert consumer.waits == []
    consumer.arriving = batch(0, 3, [GOOD] * 2)
    taken = take_batch(consumer, 500, 0.5)  # type: ignore[arg-type]
    assert [m.offset() for m in taken] == [3, 4]
    assert consumer.waits == [0.5]
    assert take_batch(consumer, 500, 0.5) == []  # type: ignore[arg-type]


@dataclass
class RebalancingConsumer(QueueConsumer):
    """A `QueueConsumer` whose next `consume` after a wait first runs a rebalance callback."""

    rebalance: Callable[[], None] | None = None

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        if self.waits and self.rebalance is not None:
            rebalance, self.rebalance = self.rebalance, None
            rebalance()
        return super().consume(num_messages, timeout)

    def commit(self, offsets: list[TopicPartition], asynchronous: bool = True) -> None:
        pass


def test_a_record_fetched_before_a_rebalance_is_not_checked_after_it(
    monitor_factory: Callable[..., QualityMonitor],
) -> None:
    monitor = monitor_factory()
    # The first record arrives during the wait; the rebalance then runs inside the `consume`
    # that takes the rest, revoking its partition.
    consumer = RebalancingConsumer([], arriving=batch(0, 5, [GOOD]) + batch(1, 0, [GOOD]))
    consumer.rebalance = lambda: monitor._on_revoke(consumer, [TopicPartition(TOPIC, 0)])  # type: ignore[arg-type]
    taken = monitor._take(consumer)  # type: ignore[arg-type]
    assert [(m.partition(), m.offset()) for m in taken] == [(1, 0)]
    # Without a rebalance, nothing is dropped.
    consumer.arriving = batch(1, 1, [GOOD, GOOD])
    taken = monitor._take(consumer)  # type: ignore[arg-type]
    assert [(m.partition(), m.offset()) for m in taken] == [(1, 1), (1, 2)]


def test_take_batch_drops_the_first_record_when_the_assignment_changed_after_it() -> None:
    assignments = [0]
    consumer = RebalancingConsumer([], arriving=batch(0, 5, [GOOD]) + batch(1, 0, [GOOD]))
    consumer.rebalance = lambda: assignments.__setitem__(0, 1)
    taken = take_batch(consumer, 500, 0.5, lambda: assignments[0])  # type: ignore[arg-type]
    assert [(m.partition(), m.offset()) for m in taken] == [(1, 0)]
