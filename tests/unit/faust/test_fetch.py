"""The runtime's fetch loop hands a record to its callback inline when the callback never
suspends, and otherwise finishes it in a task raced as Faust does, with nothing run twice or
lost; records it handles inline are acked as Faust's `ack` would, and a partition never
committed goes back to its start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from faust.types import TP, Message

from streammesh.faust import App, DirectProducer, DirectTable, Utf8Codec, deliver, direct_table

ORDERS, PROFILES = "orders", "profiles"
NOWHERE = "127.0.0.1:1"  # nothing connects: no worker starts


@pytest.fixture
def app_factory(tmp_path: Path) -> Callable[..., App]:
    """An app as a processor builds it (the runtime's `App`, a direct table), never started."""

    def make(**options: Any) -> App:
        app = App(
            "fetch-test",
            broker=f"kafka://{NOWHERE}",
            store="memory://",
            Table=DirectTable,
            consumer_auto_offset_reset="earliest",
            datadir=str(tmp_path),
            autodiscover=False,
            **options,
        )
        direct_table(app, "state", 6, Utf8Codec(), Utf8Codec(), DirectProducer(NOWHERE))
        return app

    return make


async def run_race(task: asyncio.Future[Any]) -> None:
    await task


def test_a_callback_that_never_suspends_runs_inline() -> None:
    async def main() -> list[str]:
        seen: list[str] = []

        async def callback(message: Any) -> None:
            seen.append(message)

        async def race(task: asyncio.Future[Any]) -> None:
            raise AssertionError("no race for a callback that did not suspend")

        await deliver(callback, "m", race)
        return seen

    assert asyncio.run(main()) == ["m"]


def test_a_suspended_callback_resumes_where_it_waited() -> None:
    async def main() -> list[object]:
        seen: list[object] = []
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def callback(message: Any) -> None:
            seen.append(("before", message))
            await asyncio.sleep(0)  # a bare yield
            seen.append(await future)  # a future
            seen.append("after")

        asyncio.get_running_loop().call_later(0.01, future.set_result, "result")
        await deliver(callback, "m", run_race)
        return seen

    assert asyncio.run(main()) == [("before", "m"), "result", "after"]


def test_a_race_lost_to_a_suspended_flow_cancels_the_callback() -> None:
    async def main() -> tuple[list[str], bool]:
        seen: list[str] = []
        tasks: list[asyncio.Future[Any]] = []

        async def callback(message: Any) -> None:
            await asyncio.Event().wait()  # blocked, as by stopped flow control
            seen.append("never")

        async def race(task: asyncio.Future[Any]) -> None:
            tasks.append(task)
            await asyncio.sleep(0.01)  # the flow was suspended meanwhile
            task.cancel()

        await deliver(callback, "m", race)
        await asyncio.sleep(0)
        return seen, tasks[0].cancelled()

    assert asyncio.run(main()) == ([], True)


def test_the_worker_consumer_long_polls_for_the_configured_time(
    app_factory: Callable[..., App],
) -> None:
    """Faust fixes aiokafka's fetch wait at 1.5 s; a fetch of idle partitions then holds the
    busy ones back that long. The setting reaches the consumer the worker starts."""

    async def main() -> int:
        app = app_factory(fetch_max_wait_ms=37)
        thread = app.consumer._thread  # type: ignore[attr-defined]  # the driver's, untyped
        consumer = thread._create_worker_consumer(app.transport)
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()  # never started: only releases what it made
            thread.thread_loop.close()  # the consumer thread's own loop, never run

    assert asyncio.run(main()) == 37


def test_an_inline_ack_moves_the_commit_offset_as_faust_ack_does(
    app_factory: Callable[..., App],
) -> None:
    """Acked offsets, a gap and offsets below the committed one: the offsets a commit takes
    are Faust's own, whether the records were acked by `ack` or by the inline path."""

    async def main() -> list[list[int | None]]:
        found = []
        for inline in (False, True):
            app = app_factory()
            consumer = app.consumer
            tp = TP(ORDERS, 0)
            app.topics._acking_topics.add(tp.topic)  # type: ignore[attr-defined]  # as started
            consumer._committed_offset[tp] = 3  # type: ignore[attr-defined]
            offsets = []
            for acked in ([1, 3, 4, 5], [4, 6, 7], [9, 8]):
                for offset in acked:
                    message = Message(ORDERS, 0, offset, 0.0, 0, {}, b"k", b"v", None)
                    if inline:
                        consumer._acked_inline(tp, message)  # type: ignore[attr-defined]
                    else:
                        consumer.track_message(message)
                        consumer.ack(message)
                new = consumer._new_offset(tp)  # type: ignore[attr-defined]
                offsets.append(new)
                if new is not None:  # committed
                    consumer._committed_offset[tp] = new  # type: ignore[attr-defined]
            consumer._thread.thread_loop.close()  # type: ignore[attr-defined]
            found.append(offsets)
        return found

    faust_acks, inline_acks = asyncio.run(main())
    assert inline_acks == faust_acks == [6, 8, 10]


class CommittedOffsets:
    """aiokafka's consumer as far as seeking goes: committed offsets, and the seeks asked."""

    def __init__(self, committed: dict[TP, int | None]) -> None:
        self.committed = committed
        self.to_beginning: list[TP] = []

    async def seek_to_committed(self) -> dict[TP, int | None]:
        return self.committed

    async def seek_to_beginning(self, *partitions: TP) -> None:
        self.to_beginning.extend(partitions)


def test_a_stream_partition_never_committed_goes_back_to_its_start(
    app_factory: Callable[..., App],
) -> None:
    """Faust drops the records it fetched when a rebalance stops the flow and seeks back to
    the committed offsets; a partition with none must go back to its start, or the dropped
    records are lost. Committed partitions and the tables' changelogs stay where they are."""

    async def main() -> tuple[list[TP], dict[TP, int | None]]:
        app = app_factory()
        changelog = next(iter(app.tables.changelog_topics))
        committed: dict[TP, int | None] = {
            TP(PROFILES, 0): None,
            TP(PROFILES, 1): 0,
            TP(ORDERS, 0): 42,
            TP(changelog, 0): None,
        }
        consumer = CommittedOffsets(committed)
        thread = app.consumer._thread  # type: ignore[attr-defined]  # the driver's, untyped
        thread._consumer = consumer
        try:
            found = await thread._seek_to_committed()
        finally:
            thread.thread_loop.close()
        return consumer.to_beginning, dict(found)

    to_beginning, found = asyncio.run(main())
    assert to_beginning == [TP(PROFILES, 0), TP(PROFILES, 1)]
    assert found[TP(ORDERS, 0)] == 42  # what Faust records as committed
