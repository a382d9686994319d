"""The ledger settles a batch only once its letters, and those of every batch before it, are
reported on; a refused letter's partition commits up to that record, not past it, is rewound to
it, and every later batch gives the partition up. Revoked partitions commit only what settled."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from prometheus_client import CollectorRegistry

from services.quality_monitor.batch import CheckedBatch, Rejection, TopicPartitionKey
from services.quality_monitor.checks import Failure, Outcome
from services.quality_monitor.follower import Watched
from services.quality_monitor.ledger import DeadLetterLedger
from services.quality_monitor.metrics import DEAD_LETTERS, MonitorMetrics
from streammesh.deadletter import Reason
from streammesh.testing.metrics import samples
from tests.unit.quality_monitor.fakes import (
    TOPIC,
    FakeConsumer,
    FakeMessage,
    FakeProducer,
    watched_orders,
)
from tests.unit.quality_monitor.samples import NOW_MS

P0: TopicPartitionKey = (TOPIC, 0)
P1: TopicPartitionKey = (TOPIC, 1)
ASSIGNED = frozenset({P0, P1})
REFUSED = KafkaError(KafkaError._MSG_TIMED_OUT)
BROKEN = Outcome(Failure(Reason.RULE_VIOLATION, "amount: negative", "amount", ("amount",)), 3)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def watched(registry: CollectorRegistry) -> Iterator[Watched]:
    metrics = MonitorMetrics(registry)
    yield watched_orders(metrics)
    metrics.close()


@pytest.fixture
def ledger(watched: Watched) -> DeadLetterLedger:
    return DeadLetterLedger(threading.Event(), lambda ref: watched.recorder)


def checked(
    watched: Watched, commit: dict[TopicPartitionKey, int], letters: list[TopicPartitionKey | int]
) -> CheckedBatch:
    """A checked batch committing `commit`, with a failed record at each offset of partition 0
    in `letters` (a key names the partition of the offsets after it)."""
    batch = CheckedBatch(commit=dict(commit))
    partition = 0
    for item in letters:
        if isinstance(item, tuple):
            partition = item[1]
            continue
        message = FakeMessage(TOPIC, partition, item, b"bad")
        batch.rejected.append(
            Rejection(item, message, (TOPIC, partition), item, watched, BROKEN, NOW_MS)  # type: ignore[arg-type]
        )
    return batch


def send_all(ledger: DeadLetterLedger, producer: FakeProducer, batch: CheckedBatch) -> None:
    ledger.send_letters(producer, batch)  # type: ignore[arg-type]


def dead_letters_counted(registry: CollectorRegistry) -> float:
    return sum(value for (name, _), value in samples(registry).items() if name == DEAD_LETTERS)


def test_a_batch_settles_only_once_its_letters_and_every_earlier_batchs_are_in(
    ledger: DeadLetterLedger, watched: Watched, registry: CollectorRegistry
) -> None:
    producer = FakeProducer()
    send_all(ledger, producer, checked(watched, {P0: 3}, [2]))
    send_all(ledger, producer, checked(watched, {P0: 5, P1: 1}, []))  # clean, but later
    settled = ledger.settle(ASSIGNED)
    assert (settled.commits, settled.rewind) == ({}, {})
    assert len(ledger.in_flight) == 2
    producer.decide(2)
    producer.poll()
    settled = ledger.settle(ASSIGNED)
    assert (settled.commits, settled.rewind) == ({P0: 5, P1: 1}, {})
    assert ledger.settled == {P0: 5, P1: 1}
    assert not ledger.in_flight
    assert dead_letters_counted(registry) == 1


def test_a_refused_letter_commits_up_to_its_record_and_later_batches_give_it_up(
    ledger: DeadLetterLedger, watched: Watched
) -> None:
    producer = FakeProducer()
    send_all(ledger, producer, checked(watched, {P0: 3}, [1]))
    send_all(ledger, producer, checked(watched, {P0: 6, P1: 2}, [4]))
    send_all(ledger, producer, checked(watched, {P0: 8}, [7]))  # still out
    producer.decide(1, REFUSED)
    producer.decide(4)
    producer.poll()
    settled = ledger.settle(ASSIGNED)
    assert (settled.commits, settled.rewind) == ({P0: 1, P1: 2}, {P0: 1})
    (later,) = ledger.in_flight
    assert P0 in later.abandoned
    # Its refusal, reported afterwards, is not heeded: partition 0 is checked again from 1.
    producer.decide(7, REFUSED)
    producer.poll()
    settled = ledger.settle(ASSIGNED)
    assert (settled.commits, settled.rewind) == ({}, {})


def test_partitions_not_assigned_are_neither_committed_nor_rewound(
    ledger: DeadLetterLedger, watched: Watched
) -> None:
    producer = FakeProducer()
    send_all(ledger, producer, checked(watched, {P0: 3, P1: 4}, [1]))
    producer.decide(1, REFUSED)
    producer.poll()
    settled = ledger.settle(frozenset({P1}))
    assert (settled.commits, settled.rewind) == ({P1: 4}, {})


def test_revoked_partitions_commit_only_what_settled(
    ledger: DeadLetterLedger, watched: Watched
) -> None:
    consumer, producer = FakeConsumer(), FakeProducer()
    send_all(ledger, producer, checked(watched, {P0: 2}, []))
    assert ledger.settle(ASSIGNED).commits == {P0: 2}
    send_all(ledger, producer, checked(watched, {P0: 5, P1: 1}, [3]))  # its letter is out
    ledger.give_up(consumer, {P0})  # type: ignore[arg-type]
    assert consumer.commits == [{P0: 2}]
    assert P0 not in ledger.settled
    producer.decide(3, REFUSED)  # the next owner checks it again: nothing to rewind here
    producer.poll()
    settled = ledger.settle(ASSIGNED)
    assert (settled.commits, settled.rewind) == ({P1: 1}, {})


class RefusingProducer(FakeProducer):
    """Refuses to queue the letter of offset `refuse` (e.g. an unknown topic)."""

    refuse = 3

    def produce(self, topic: str, *args: object, **kwargs: object) -> None:
        headers = dict(kwargs["headers"])  # type: ignore[call-overload]
        if headers["__streammesh.source.offset"] == str(self.refuse).encode():
            raise KafkaException(KafkaError(KafkaError._UNKNOWN_TOPIC))
        super().produce(topic, *args, **kwargs)  # type: ignore[arg-type]


def test_a_batch_whose_letter_cannot_be_sent_is_never_committed(
    ledger: DeadLetterLedger, watched: Watched
) -> None:
    producer = RefusingProducer()
    with pytest.raises(KafkaException):
        send_all(ledger, producer, checked(watched, {P0: 5}, [1, 3]))
    producer.decide()
    producer.poll()
    assert not ledger.in_flight
    assert ledger.settle(ASSIGNED).commits == {}
