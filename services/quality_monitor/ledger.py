"""The dead-letter ledger: checked batches in flight, their letters, and what may be committed.

Delivery is at least once: a batch's offsets are committed only after every dead letter of it,
and of every batch before it, is acknowledged by Kafka (acks=all, idempotent producer). The loop
does not wait for the letters: batches stay here, oldest first, while their letters are out,
and `settle` takes off those whose letters are all reported on. When a letter is refused, its
partition is rewound to it (`rewind`) and the batches after it give the partition up: they
commit nothing of it, and heed no later refusal of its letters.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Final

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from services.quality_monitor.batch import CheckedBatch, Rejection, TopicPartitionKey
from services.quality_monitor.metrics import ProductRecorder
from streammesh.deadletter import Source, dead_letter_headers, dlq_topic
from streammesh.sdk.produce import produce

log = logging.getLogger(__name__)

_RETRY_PAUSE_SECONDS: Final = 1.0  # before a rewound partition is checked again
_SEEK_WAIT_SECONDS: Final = 0.1
_SEEK_ATTEMPTS: Final = 3  # a rewind of a partition still assigned, before the loop gives up


@dataclass(slots=True)
class InFlight:
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


@dataclass(frozen=True, slots=True)
class Settlement:
    """What the batches settled at once leave to do: the offsets to commit, and the partitions
    to check again from an offset."""

    commits: dict[TopicPartitionKey, int]
    rewind: dict[TopicPartitionKey, int]


class DeadLetterLedger:
    """The batches in flight, oldest first, and the offsets settled so far."""

    def __init__(
        self, stopping: threading.Event, recorder_of: Callable[[str], ProductRecorder | None]
    ) -> None:
        self._stopping = stopping  # ends a rewind's pause early
        self._recorder_of = recorder_of  # counts acknowledged letters of products still watched
        self.in_flight: deque[InFlight] = deque()  # checked, not committed; oldest first
        self.settled: dict[TopicPartitionKey, int] = {}  # offsets safe to commit, by settling

    def send_letters(self, producer: Producer, checked: CheckedBatch) -> InFlight:
        """Send the dead letters of a checked batch, in the order of their records, and keep the
        batch in flight, last, until it settles. A letter that cannot be sent raises before the
        batch is kept, so none of its offsets is committed."""
        batch = InFlight(checked.commit, checked.rewind)
        for rejection in checked.rejected:
            self._send(producer, batch, rejection)
        self.in_flight.append(batch)
        return batch

    def _send(self, producer: Producer, batch: InFlight, rejection: Rejection) -> None:
        """Send a failed record's dead letter, counted in `batch` until it is reported on; its
        headers are built only here."""
        outcome, message, source = rejection.outcome, rejection.message, rejection.source
        failure = outcome.failure
        assert failure is not None
        topic, partition = source
        offset = rejection.offset
        ref = rejection.product.ref
        headers = dead_letter_headers(
            message.headers(),
            reason=failure.reason,
            message=failure.message,
            rules=failure.rules,
            product=ref,
            subject=rejection.product.product.value_subject,
            topic=topic,
            source=Source(partition, offset, rejection.timestamp_ms),
        )
        batch.letters += 1

        def delivered(error: KafkaError | None, _message: Message) -> None:
            batch.letters -= 1
            if error is None:
                batch.acknowledged[ref] = batch.acknowledged.get(ref, 0) + 1
                return
            log.warning("dead letter of %s[%d]@%d refused: %s", topic, partition, offset, error)
            if source in batch.abandoned:  # checked again from an earlier record anyway
                return
            first = batch.refused.get(source)
            batch.refused[source] = offset if first is None else min(first, offset)

        produce(
            producer,
            dlq_topic(topic),
            message.value(),
            message.key(),
            headers=headers,
            on_delivery=delivered,
        )

    def settle(self, assigned: Collection[TopicPartitionKey]) -> Settlement:
        """Take the settled batches off, oldest first, up to the first with letters still out:
        the offsets to commit, and where to rewind. A refused letter's partition commits up to
        it, not past it, and batches after it give it up. Only partitions in `assigned`."""
        in_flight = self.in_flight
        commits: dict[TopicPartitionKey, int] = {}
        rewind: dict[TopicPartitionKey, int] = {}
        while in_flight and in_flight[0].letters == 0:
            batch = in_flight.popleft()
            for ref, count in batch.acknowledged.items():
                recorder = self._recorder_of(ref)
                if recorder is not None:
                    recorder.dead_letters(count)
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
        self.settled.update(commits)
        return Settlement(commits, rewind)

    @staticmethod
    def commit(
        consumer: Consumer, offsets: Mapping[TopicPartitionKey, int], *, asynchronous: bool
    ) -> None:
        """Commit settled offsets; a failed commit is logged (the records are checked again)."""
        listed = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            if asynchronous:
                consumer.commit(offsets=listed, asynchronous=True)
            else:
                consumer.commit(offsets=listed, asynchronous=False)
        except KafkaException as exc:  # e.g. during a rebalance: checked again, at least once
            log.warning("commit failed: %s", exc)

    def rewind(
        self,
        consumer: Consumer,
        offsets: Mapping[TopicPartitionKey, int],
        assigned: Collection[TopicPartitionKey],
    ) -> None:
        """Check partitions again from these offsets, after a pause. A partition still assigned
        that cannot be rewound stops the loop: going on would check and commit past the
        record (its offset is committed, so a restart resumes there)."""
        for (topic, partition), offset in offsets.items():
            for attempt in range(1, _SEEK_ATTEMPTS + 1):
                try:
                    consumer.seek(TopicPartition(topic, partition, offset))
                    break
                except KafkaException as exc:
                    if (topic, partition) not in assigned:  # the next owner resumes there
                        log.info("cannot rewind %s[%d]: %s", topic, partition, exc)
                        break
                    if attempt == _SEEK_ATTEMPTS:
                        raise
                    log.warning("cannot rewind %s[%d], trying again: %s", topic, partition, exc)
                    self._stopping.wait(_SEEK_WAIT_SECONDS)
        self._stopping.wait(_RETRY_PAUSE_SECONDS)

    def give_up(self, consumer: Consumer, gone: Collection[TopicPartitionKey]) -> None:
        """Partitions revoked: the batches in flight commit nothing more of them (the next owner
        checks those records again), and what settling committed of them is committed for
        sure before they move."""
        for batch in self.in_flight:
            for key in gone:
                batch.abandon(key)
        # Only what settling committed: a fetch position may lie past batches still in flight.
        offsets = [
            TopicPartition(t, p, self.settled[(t, p)])
            for t, p in gone
            if self.settled.get((t, p), -1) >= 0
        ]
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:  # the next owner checks them again: at least once
                log.info("commit on revoke failed: %s", exc)
        for key in gone:
            self.settled.pop(key, None)
