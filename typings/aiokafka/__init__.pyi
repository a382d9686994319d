"""The part of aiokafka this project uses (aiokafka ships no type information)."""

from typing import Any, NamedTuple

class TopicPartition(NamedTuple):
    topic: str
    partition: int

class ConsumerRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None

class AIOKafkaConsumer:
    _fetch_max_wait_ms: int  # read when it starts: the CLTV worker sets it (Faust fixes 1.5 s)
    def __init__(self, *topics: str, **configs: Any) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def assign(self, partitions: list[TopicPartition]) -> None: ...
    async def seek_to_committed(
        self, *partitions: TopicPartition
    ) -> dict[TopicPartition, int | None]: ...
    async def seek_to_beginning(self, *partitions: TopicPartition) -> bool: ...
    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = ..., max_records: int | None = ...
    ) -> dict[TopicPartition, list[ConsumerRecord]]: ...
