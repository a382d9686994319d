"""`ProductConsumer`: read a product topic as decoded `Record`s."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

from confluent_kafka import (
    OFFSET_END,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    Message,
    TopicPartition,
)
from confluent_kafka.serialization import MessageField, SerializationContext

from streammesh.sdk.catalog import Product
from streammesh.sdk.errors import SdkError
from streammesh.serde import AvroDeserializer, SchemaRegistry, SerdeError


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded record: key and value as Python values (decimals as `Decimal`, timestamps
    as aware `datetime`), headers as sent, and where it sits in the topic."""

    key: Any
    value: Any
    headers: tuple[tuple[str, bytes], ...]
    partition: int
    offset: int
    timestamp: datetime | None
    topic: str = ""


class ProductConsumer:
    """Reads one product topic; create it with `Mesh.consumer`.

    Iterating yields records as they come, forever; `records(until_end=True)` stops once every
    assigned partition has been read to its end. `from_time` starts each partition at the first
    record at or after that time; otherwise a group without committed offsets starts at the
    beginning (`from_beginning`) or the end.
    """

    def __init__(
        self,
        product: Product,
        consumer: Consumer,
        registry: SchemaRegistry,
        *,
        from_time: datetime | None = None,
    ) -> None:
        self.product = product
        self.topic = product.topic
        self._consumer = consumer
        self._values = AvroDeserializer(registry)
        self._keys = AvroDeserializer(registry) if product.key_subject is not None else None
        self._value_ctx = SerializationContext(self.topic, MessageField.VALUE)
        self._key_ctx = SerializationContext(self.topic, MessageField.KEY)
        self._from_time = from_time
        self._assigned: set[int] | None = None
        self._at_end: set[int] = set()
        self._closed = False
        consumer.subscribe([self.topic], on_assign=self._assign, on_revoke=self._revoke)

    # --- rebalancing

    def _assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self._from_time is not None:
            millis = int(self._from_time.timestamp() * 1000)
            wanted = [TopicPartition(p.topic, p.partition, millis) for p in partitions]
            found = consumer.offsets_for_times(wanted, timeout=30)
            partitions = [
                TopicPartition(p.topic, p.partition, p.offset if p.offset >= 0 else OFFSET_END)
                for p in found
            ]
            consumer.assign(partitions)
        self._assigned = (self._assigned or set()) | {p.partition for p in partitions}

    def _revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {p.partition for p in partitions}
        self._assigned = (self._assigned or set()) - gone
        self._at_end -= gone

    @property
    def at_end(self) -> bool:
        """Whether every assigned partition has been read to its end."""
        return bool(self._assigned) and self._at_end >= (self._assigned or set())

    # --- reading

    def poll(self, timeout: float = 1.0) -> Record | None:
        """The next record, or None if none came within `timeout` seconds."""
        message = self._consumer.poll(timeout)
        if message is None:
            return None
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                self._at_end.add(message.partition() or 0)
                return None
            raise SdkError(f"reading {self.topic}: {error.str()}")
        self._at_end.discard(message.partition() or 0)
        return self._decode(message)

    def _decode(self, message: Message) -> Record:
        partition, offset = message.partition() or 0, message.offset() or 0
        try:
            value = self._values(message.value(), self._value_ctx)
            raw_key = message.key()
            key: Any = raw_key
            if self._keys is not None:
                key = self._keys(raw_key, self._key_ctx)
        except SerdeError as exc:
            raise SdkError(f"{self.topic} partition {partition} offset {offset}: {exc}") from exc
        kind, millis = message.timestamp()
        stamp = None
        if kind != TIMESTAMP_NOT_AVAILABLE:
            stamp = datetime.fromtimestamp(millis / 1000, UTC)
        headers = _headers(message.headers())
        return Record(key, value, headers, partition, offset, stamp, message.topic() or "")

    def records(
        self,
        *,
        max_records: int | None = None,
        until_end: bool = False,
        timeout: float = 1.0,
    ) -> Iterator[Record]:
        """Records until `max_records` were read, or (`until_end`) every partition is at its
        end; otherwise forever."""
        count = 0
        while max_records is None or count < max_records:
            if until_end and self.at_end:
                return
            record = self.poll(timeout)
            if record is not None:
                count += 1
                yield record

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    def commit(self) -> None:
        """Commit the offsets of the records read so far (groups with auto-commit off)."""
        self._consumer.commit(asynchronous=False)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _headers(raw: Any) -> tuple[tuple[str, bytes], ...]:
    items = raw.items() if isinstance(raw, dict) else (raw or [])
    return tuple(
        (str(name), value.encode() if isinstance(value, str) else bytes(value or b""))
        for name, value in items
    )
