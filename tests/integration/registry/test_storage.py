"""The registry's Kafka log: a write is read back before it returns; a new reader replays it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from services.registry.errors import NotLeaderError
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
    await writer.open_writer()
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


async def _concurrent_writes(bootstrap: str, topic: str) -> tuple[int, int, dict[bytes, bytes]]:
    recorder = Recorder()
    log = KafkaLog(bootstrap, topic, recorder)
    await log.start()
    await log.open_writer()
    transactions = 0
    commit = log._commit

    def counted(producer: object, entries: list[Entry]) -> int:
        nonlocal transactions
        transactions += 1
        return commit(producer, entries)  # type: ignore[arg-type]

    log._commit = counted  # type: ignore[method-assign]
    writes = [log.write([(f"c{n}".encode(), f"v{n}".encode())]) for n in range(300)]
    await asyncio.gather(*writes)
    await log.stop()
    return transactions, len(writes), recorder.state


def test_writes_that_arrive_together_share_a_transaction(
    bootstrap_servers: str, admin: AdminClient, request: pytest.FixtureRequest
) -> None:
    topic = unique_name(request, "_streammesh.schemas")
    transactions, writes, state = asyncio.run(_concurrent_writes(bootstrap_servers, topic))
    assert state == {f"c{n}".encode(): f"v{n}".encode() for n in range(writes)}
    assert 1 <= transactions < writes / 10, transactions
    admin.delete_topics([topic])[topic].result(timeout=30)


async def _fenced(bootstrap: str, topic: str) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
    old_state, new_state = Recorder(), Recorder()
    old = KafkaLog(bootstrap, topic, old_state)
    new = KafkaLog(bootstrap, topic, new_state)
    await old.start()
    await new.start()
    await old.open_writer()
    await old.write([(b"a", b"old")])
    await new.open_writer()  # init_transactions fences the older writer
    with pytest.raises(NotLeaderError, match="fenced by a newer leader"):
        await old.write([(b"b", b"from the deposed writer")])
    assert not old.is_writer
    with pytest.raises(NotLeaderError):
        old.submit([(b"c", b"refused at once")])
    await new.write([(b"b", b"new")])
    await old.wait_for_position(new.position)
    await old.stop()
    await new.stop()
    return old_state.state, new_state.state


def test_a_new_writer_fences_the_old_one(
    bootstrap_servers: str, admin: AdminClient, request: pytest.FixtureRequest
) -> None:
    topic = unique_name(request, "_streammesh.schemas")
    old, new = asyncio.run(_fenced(bootstrap_servers, topic))
    # the deposed writer's record never reached any reader
    assert old == new == {b"a": b"old", b"b": b"new"}
    admin.delete_topics([topic])[topic].result(timeout=30)
