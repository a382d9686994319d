"""The CLTV worker's fetch loop hands a record to its callback inline when the callback never
suspends, and otherwise finishes it in a task raced as Faust does, with nothing run twice or
lost."""

from __future__ import annotations

import asyncio
from typing import Any

from domains.marketing.cltv.fetch import deliver


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
