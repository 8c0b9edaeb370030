"""Faust's fetcher hands each message to the conductor without a task per message.

``Consumer._drain_messages`` delivers every message through
``wait_first(callback(message), suspend_flow.wait())``: mode's ``wait_first`` wraps both
in tasks, adds two more for the service's stopped and crashed events, waits, then cancels
the three losers. About 40 µs of the event loop per message (measured), although the
callback (the conductor putting the event on the agents' queues) almost never suspends.

The patch starts the callback eagerly, as Python 3.12's eager tasks do: its first step
runs at once, in a copy of the context as a task's would. If it finishes there (nothing
to wait for), that is the result and nothing else is created. If it suspends (a full
queue, flow control), what remains of it becomes a task and mode's ``wait_first`` takes
over with every waitable, exactly as before: a flow suspended during a rebalance still
abandons the delivery.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.consumer import Consumer
from mode.services import WaitArgT, WaitResults

_MARK = "_recon_eager_fix"


class _Resume:
    """Awaitable continuing ``coro``, suspended on ``pending`` after its first step: a
    task drives it as it would have driven ``coro`` from the start."""

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coro = coro
        self.pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.pending
        while True:
            try:
                sent = yield pending
            except BaseException as exc:  # cancellation included: the coroutine decides
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Any:
    return await _Resume(coro, pending)


def _close(waitables: tuple[WaitArgT, ...]) -> None:
    for waitable in waitables:
        if inspect.iscoroutine(waitable):
            waitable.close()  # never started: no "never awaited" warning


def install() -> None:
    """Patch faust's Consumer once per process (idempotent)."""
    if getattr(Consumer, _MARK, False):
        return
    original = Consumer.wait_first

    async def wait_first(self: Consumer, *coros: WaitArgT, timeout: Any = None) -> WaitResults:
        first = coros[0] if coros else None
        if not inspect.iscoroutine(first) or self._stopped.is_set() or self._crashed.is_set():
            return await original(self, *coros, timeout=timeout)
        context = contextvars.copy_context()
        try:
            pending = context.run(first.send, None)
        except StopIteration as stop:  # finished in its first step
            _close(coros[1:])
            return WaitResults([first], [stop.value], False)
        except BaseException:
            _close(coros[1:])
            raise
        task = self.loop.create_task(_resume(first, pending), context=context)
        return await original(self, task, *coros[1:], timeout=timeout)

    Consumer.wait_first = wait_first  # type: ignore[method-assign,assignment]
    setattr(Consumer, _MARK, True)
