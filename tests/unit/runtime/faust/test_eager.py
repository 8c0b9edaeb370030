"""The fetcher's per-message wait starts the delivery eagerly: no task when it finishes in
its first step, mode's wait_first (so a suspended flow still abandons it) when it does not
(streams/runtime/faust/eager.py)."""

from __future__ import annotations

import asyncio
import contextvars
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from faust.transport.consumer import Consumer
from mode import Service
from mode.utils.locks import Event

from streams.runtime.faust import eager as faust_eager

pytestmark = pytest.mark.unit

T = TypeVar("T")
VAR: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outside")


class Fetcher(Service):
    """What the patched ``Consumer.wait_first`` uses of a consumer: a mode Service."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = Event()


def run(body: Callable[[Fetcher], Awaitable[T]]) -> T:
    faust_eager.install()

    async def main() -> T:
        return await body(Fetcher())

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a never-awaited coroutine fails
        return asyncio.run(main())


def wait_first(fetcher: Fetcher, *coros: Any) -> Any:
    return Consumer.wait_first(fetcher, *coros)  # type: ignore[arg-type]


def test_a_delivery_that_does_not_suspend_creates_no_task() -> None:
    async def deliver() -> str:
        VAR.set("inside")
        return "delivered"

    async def body(fetcher: Fetcher) -> tuple[Any, int, str]:
        before = len(asyncio.all_tasks())
        result = await wait_first(fetcher, deliver(), fetcher.suspend_flow.wait())
        return result, len(asyncio.all_tasks()) - before, VAR.get()

    result, tasks, var = run(body)
    assert result.results == ["delivered"] and not result.stopped
    assert tasks == 0
    assert var == "outside"  # it ran in a copy of the context, as a task does


def test_a_delivery_that_suspends_finishes_in_a_task() -> None:
    async def deliver(gate: asyncio.Future[str]) -> str:
        VAR.set("inside")
        return f"delivered after {await gate}"

    async def body(fetcher: Fetcher) -> tuple[Any, str]:
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, gate.set_result, "the gate")
        result = await wait_first(fetcher, deliver(gate), fetcher.suspend_flow.wait())
        return result, VAR.get()

    result, var = run(body)
    assert result.results == ["delivered after the gate"]
    assert var == "outside"


def test_a_suspended_flow_abandons_a_suspended_delivery() -> None:
    seen: list[str] = []

    async def deliver() -> None:
        try:
            await asyncio.sleep(0)  # a bare yield first, then a future
            await asyncio.sleep(30)
            seen.append("delivered")
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def body(fetcher: Fetcher) -> Any:
        asyncio.get_running_loop().call_later(0.01, fetcher.suspend_flow.set)
        result = await wait_first(fetcher, deliver(), fetcher.suspend_flow.wait())
        await asyncio.sleep(0)  # the abandoned delivery handles its cancellation
        return result

    result = run(body)
    assert result.results == [True]  # the flow's event won
    assert seen == ["cancelled"]


def test_an_error_in_the_first_step_propagates() -> None:
    async def deliver() -> None:
        raise ValueError("undecodable")

    async def body(fetcher: Fetcher) -> Any:
        return await wait_first(fetcher, deliver(), fetcher.suspend_flow.wait())

    with pytest.raises(ValueError, match="undecodable"):
        run(body)


def test_a_stopped_service_takes_the_original_path() -> None:
    async def deliver() -> str:
        return "delivered"

    async def body(fetcher: Fetcher) -> Any:
        fetcher._stopped.set()
        return await wait_first(fetcher, deliver(), fetcher.suspend_flow.wait())

    assert run(body).stopped
