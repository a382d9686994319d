"""Checking a batch of consumed records: decode each, judge them per writer schema, count.

The hot path of the monitor. A first pass decodes every record (`Tally.decode`); the decoded
records of one writer schema go into a `Group`, column by column (no object per record), and
are settled together: the rules evaluated at once (`RuleEvaluator.evaluate_batch`), the verdict
and the event-time window from `checks.judge_batch`, the passing ones counted together. Records
the checks before the rules settled (`Settled`) are counted one by one. Counters reach the
metrics once per batch and product.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaError, Message

from services.quality_monitor.checks import (
    EventTimeLimits,
    Outcome,
    WriterSchema,
    decode_body,
    decode_record,
    judge_batch,
)
from services.quality_monitor.errors import CatalogUnavailableError
from services.quality_monitor.metrics import ProductRecorder
from streammesh.serde import HEADER_SIZE

if TYPE_CHECKING:
    from services.quality_monitor.follower import Watched

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]


@dataclass(slots=True)
class Tally:
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

    def publish(self) -> None:
        """Add the batch's counts to the product's metrics and to what `/products` shows."""
        product, recorder = self.product, self.recorder
        recorder.observe(self.durations)
        for version, count in self.checked.items():
            recorder.checked(version, count)
        for version, count in self.late.items():
            recorder.late(version, count)
        product.checked += sum(self.checked.values())
        product.failed += self.failed
        newest = self.newest
        if newest is not None and (
            product.newest_event_ms is None or newest > product.newest_event_ms
        ):
            product.newest_event_ms = newest


@dataclass(slots=True)
class Group:
    """The decoded records of a batch with one writer schema (one product's), one list per
    field: a list append per field costs less than an object per record."""

    writer: WriterSchema
    tally: Tally
    places: list[int] = field(default_factory=list)  # each record's place in the batch
    records: list[Mapping[str, object]] = field(default_factory=list)
    stamps: list[int | None] = field(default_factory=list)  # Kafka timestamps
    seconds: list[float] = field(default_factory=list)  # decode times


@dataclass(frozen=True, slots=True)
class Settled:
    """A record the checks before the rules settled (a failure, a tombstone, no record)."""

    place: int
    tally: Tally
    timestamp_ms: int | None
    seconds: float  # its decode time
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that failed, for its dead letter: `place` orders the letters as the records."""

    place: int
    message: Message
    source: TopicPartitionKey
    offset: int
    product: Watched
    outcome: Outcome
    timestamp_ms: int | None


@dataclass(slots=True)
class CheckedBatch:
    """What checking a batch leaves to the ledger: the offsets to commit once its letters are
    in, the partitions to check again from an offset (the registry was unreadable), and the
    records that failed, in the order they came."""

    commit: dict[TopicPartitionKey, int] = field(default_factory=dict)
    rewind: dict[TopicPartitionKey, int] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)


_place = attrgetter("place")


class BatchChecker:
    """Checks batches of records of the products in `watched` against their contracts."""

    def __init__(self, limits: EventTimeLimits) -> None:
        self.limits = limits

    def check(self, messages: Sequence[Message], watched: Mapping[str, Watched]) -> CheckedBatch:
        """Check a batch; its counts go to each product's metrics before it returns."""
        checked = CheckedBatch()
        tallies: dict[str, Tally] = {}
        groups, settled = self._decode(messages, watched, checked, tallies)
        rejected = checked.rejected
        for group in groups.values():
            self._settle_group(group, messages, rejected)
        for one in settled:
            tally, outcome = one.tally, one.outcome
            tally.durations.append(one.seconds)
            tally.add(outcome, one.timestamp_ms)
            if outcome.failure is not None:
                rejected.append(_rejection(one.place, messages, tally, outcome, one.timestamp_ms))
        rejected.sort(key=_place)
        for rejection in rejected:
            rejection.product.recorder.failed(rejection.outcome)
        for tally in tallies.values():
            tally.publish()
        return checked

    @staticmethod
    def _decode(
        messages: Sequence[Message],
        watched: Mapping[str, Watched],
        checked: CheckedBatch,
        tallies: dict[str, Tally],
    ) -> tuple[dict[int, Group], list[Settled]]:
        """The first pass: every record decoded (or settled); the decoded ones grouped by
        writer schema (by its id), the settled ones listed."""
        clock = time.perf_counter
        commit, rewind = checked.commit, checked.rewind
        tally: Tally | None = None
        groups: dict[int, Group] = {}
        group: Group | None = None
        settled: list[Settled] = []
        last_topic: str | None = None
        last_partition = -1
        key: TopicPartitionKey = ("", -1)
        for place, message in enumerate(messages):
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
                settled.append(Settled(place, tally, timestamp_ms, elapsed, decoded))
            else:
                writer, record = decoded
                if group is None or group.writer is not writer:
                    group = _group_of(writer, tally, groups)
                group.places.append(place)
                group.records.append(record)
                group.stamps.append(timestamp_ms)
                group.seconds.append(elapsed)
            commit[key] = offset + 1
        return groups, settled

    def _settle_group(
        self, group: Group, messages: Sequence[Message], rejected: list[Rejection]
    ) -> None:
        """The rules of a writer schema over its records at once, each record's duration (its
        decode, plus an even share of the rules' time), the passing ones counted together, and
        each failing one counted and added to `rejected`."""
        writer, tally, records, stamps = group.writer, group.tally, group.records, group.stamps
        clock = time.perf_counter
        started = clock()
        results = writer.rules.evaluate_batch(records)
        share = (clock() - started) / len(records)
        tally.durations.extend([seconds + share for seconds in group.seconds])
        verdict = judge_batch(writer, records, results, stamps, self.limits)
        moments, failed = verdict.event_times, verdict.failed
        if not failed:
            tally.count_many(writer.version, moments, stamps)
            return
        keep = [i for i in range(len(records)) if i not in failed]
        tally.count_many(writer.version, [moments[i] for i in keep], [stamps[i] for i in keep])
        places = group.places
        for i, outcome in failed.items():
            tally.add(outcome, stamps[i])
            rejected.append(_rejection(places[i], messages, tally, outcome, stamps[i]))


def _rejection(
    place: int,
    messages: Sequence[Message],
    tally: Tally,
    outcome: Outcome,
    timestamp_ms: int | None,
) -> Rejection:
    message = messages[place]
    partition, offset = message.partition(), message.offset()
    assert partition is not None  # checked in the first pass
    assert offset is not None
    return Rejection(
        place, message, (tally.topic, partition), offset, tally.product, outcome, timestamp_ms
    )


def _group_of(writer: WriterSchema, tally: Tally, groups: dict[int, Group]) -> Group:
    """The batch's group of `writer`'s records, made on its first record."""
    group = groups.get(id(writer))
    if group is None:
        group = groups[id(writer)] = Group(writer, tally)
    return group


def _tally_of(
    topic: str, tallies: dict[str, Tally], watched: Mapping[str, Watched]
) -> Tally | None:
    """The batch's tally of `topic`'s product, made on its first record; None when the product
    is no longer watched."""
    tally = tallies.get(topic)
    if tally is None:
        product = watched.get(topic)
        if product is None:
            return None
        tally = tallies[topic] = Tally(topic, product)
    return tally
