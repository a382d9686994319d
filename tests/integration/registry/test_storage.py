"""The registry's Kafka log: a write is read back before it returns; a new reader replays it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from services.registry.storage import Entry, KafkaLog
from tests.conftest import unique_name

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self) -> None:
        self.state: dict[bytes, bytes] = {}

    def __call__(self, entries: Sequence[Entry]) -> None:
        for key, value in entries:
            if value is None:
                self.state.pop(key, None)
            else:
                self.state[key] = value


async def _write_then_replay(
    bootstrap: str, topic: str
) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
    first = Recorder()
    writer = KafkaLog(bootstrap, topic, first)
    await writer.start()
    for n in range(20):
        await writer.write([(f"k{n % 5}".encode(), f"v{n}".encode())])
        # read-your-writes: the state holds the value as soon as write() returns
        assert first.state[f"k{n % 5}".encode()] == f"v{n}".encode()
    await writer.write([(b"k0", None), (b"k9", b"last")])
    assert b"k0" not in first.state
    await writer.stop()

    second = Recorder()
    reader = KafkaLog(bootstrap, topic, second)
    await reader.start()
    await reader.stop()
    return first.state, second.state


def test_writes_are_read_back_and_replayed(
    bootstrap_servers: str, admin: AdminClient, request: pytest.FixtureRequest
) -> None:
    topic = unique_name(request, "_streammesh.schemas")
    written, replayed = asyncio.run(_write_then_replay(bootstrap_servers, topic))
    assert replayed == written
    assert written == {b"k1": b"v16", b"k2": b"v17", b"k3": b"v18", b"k4": b"v19", b"k9": b"last"}

    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["cleanup.policy"].value == "compact"
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 1
    admin.delete_topics([topic])[topic].result(timeout=30)
