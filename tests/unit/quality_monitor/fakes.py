"""Stand-ins for the parts of confluent-kafka's consumer, producer and messages the monitor's
loop and ledger use, with the orders product watched: for unit tests, which run no broker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError, TopicPartition

from services.quality_monitor.follower import Watched
from services.quality_monitor.metrics import MonitorMetrics
from tests.unit.quality_monitor.samples import NOW_MS, ORDERS, Resolver, public

TOPIC = "sales.orders.v1"
REF = "sales.orders.v1"


def watched_orders(metrics: MonitorMetrics) -> Watched:
    """The orders product as the monitor watches it, its schemas from `samples.Resolver`."""
    product = public(ORDERS, version=3, schema_id=1)
    return Watched(product, Resolver(), metrics.recorder(REF), freshness_ms=None)  # type: ignore[arg-type]


Delivered = Callable[[KafkaError | None, object], None]


@dataclass
class FakeMessage:
    """The parts of a consumed `confluent_kafka.Message` the loop reads."""

    _topic: str
    _partition: int
    _offset: int
    _value: bytes

    def error(self) -> KafkaError | None:
        return None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes:
        return b"k"

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, NOW_MS


@dataclass
class FakeProducer:
    """Keeps every letter's report until the test decides it; `poll` serves decided ones."""

    sent: list[tuple[int, Delivered]] = field(default_factory=list)  # source offset, report
    reasons: dict[int, str] = field(default_factory=dict)  # source offset: reason header
    decided: list[tuple[Delivered, KafkaError | None]] = field(default_factory=list)
    acknowledge_on_wait: bool = False  # a poll that waits acknowledges everything sent
    flush_decides: bool = True  # False: a flush times out with every letter still out

    def produce(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        on_delivery: Delivered | None = None,
    ) -> None:
        assert topic == f"{TOPIC}.dlq"
        assert on_delivery is not None
        assert headers is not None
        named = dict(headers)
        offset = int(named["__streammesh.source.offset"])
        reason = named["__streammesh.reason"]
        self.reasons[offset] = reason.decode()
        self.sent.append((offset, on_delivery))

    def decide(self, offset: int | None = None, error: KafkaError | None = None) -> None:
        """Report on the letter of `offset` (default: every letter sent)."""
        for n, (source, report) in reversed(list(enumerate(self.sent))):
            if offset is None or source == offset:
                self.decided.append((report, error))
                del self.sent[n]
        self.decided.reverse()

    def poll(self, timeout: float = 0) -> int:
        if timeout > 0 and self.acknowledge_on_wait:
            self.decide()
        decided, self.decided = self.decided, []
        for report, error in decided:
            report(error, None)
        return len(decided)

    def flush(self, timeout: float = 0) -> int:
        if not self.flush_decides:
            return len(self.sent)
        self.decide()
        return self.poll()


@dataclass
class FakeConsumer:
    commits: list[dict[tuple[str, int], int]] = field(default_factory=list)
    seeks: list[tuple[str, int, int]] = field(default_factory=list)

    def commit(self, offsets: list[TopicPartition], asynchronous: bool = True) -> None:
        self.commits.append({(tp.topic, tp.partition): tp.offset for tp in offsets})

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.topic, tp.partition, tp.offset))

    def committed(self) -> dict[tuple[str, int], int]:
        merged: dict[tuple[str, int], int] = {}
        for commit in self.commits:
            merged.update(commit)
        return merged
