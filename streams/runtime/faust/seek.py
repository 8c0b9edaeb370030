"""A fix for faust-streaming 0.15 dropping stream records when recovery ends.

Found by the kill -9 test (tests/integration/test_crash_safety.py): after a restart, the
drain hung with one raw partition's committed offset stuck (raw.pos[4] at 110 of 865)
while every record after it had been processed. What happens in Faust
(``Recovery.on_recovery_completed`` / ``_resume_streams``):

1. the stream partitions are resumed while the fetcher is running (it ran for the
   changelog restore);
2. ``await consumer.perform_seek()`` seeks them to the committed offsets. Meanwhile the
   fetcher delivers stream records into the agents' queues: fetched before the seek or
   straddling it, so some are the records *at* the committed offset;
3. ``flow_control.resume()`` clears every agent queue (``clear_on_resume``), dropping them.

The consumer's position is already past the dropped records, so they are never read
again: the agent processes the records after them and Faust cannot commit past the hole
(or, for a one-record hole, commits over it: ``Consumer._new_offset``, faust-streaming
#606). Re-reading the hole afterwards would not do for this engine: its state skips
source offsets at or below the last one folded in, so records must be processed in
offset order per partition (see accrual/engine.py).

The fix keeps the stream partitions paused from the start of the seek until the queues
have been cleared, so nothing can be delivered between the seek and the clear:

- ``perform_seek`` pauses the active stream partitions, waits until the fetch rounds
  in progress at the pause (which could still deliver them) have ended, so no delivery
  moves Faust's read offsets after the seek either, then seeks;
- ``resume_flow`` (Faust calls it right after clearing the queues) resumes them.

Every record delivered before the clear was fetched before the seek, and the seek
rewinds the position over it, so it is read again after the resume, in order. A
partition with no committed offset (or 0) is not sought by aiokafka at all, so the fix
rewinds it to the start itself (otherwise records that arrived during a rebalance and
were never committed would be skipped, and a drain would wait forever at offset 0).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP, Message

log = logging.getLogger(__name__)

_MARK = "_recon_seek_fix"
FETCH_WAIT_SECONDS = 30.0  # cap on waiting for an in-progress fetch before seeking


def _held(consumer: Consumer) -> set[TP]:
    held: set[TP] = consumer.__dict__.setdefault("_recon_held", set())
    return held


def _rounds(consumer: Consumer) -> set[int]:
    """Ids of the ``getmany`` rounds (fetch and delivery) in progress."""
    rounds: set[int] = consumer.__dict__.setdefault("_recon_rounds", set())
    return rounds


def _next_round(consumer: Consumer) -> int:
    n = int(consumer.__dict__.get("_recon_round_seq", 0)) + 1
    consumer.__dict__["_recon_round_seq"] = n
    return n


async def wait_rounds_started_before(
    consumer: Consumer, timeout: float = FETCH_WAIT_SECONDS
) -> bool:
    """Wait until every round in progress now has ended. Rounds that start later do not
    count: they fetch after the pause, so they cannot deliver the paused partitions (the
    fetcher starts a new round right after each one, so "no round at all" may never be
    seen: waiting for it stalled every seek for the whole timeout)."""
    pending = set(_rounds(consumer))
    deadline = time.monotonic() + timeout
    while pending & _rounds(consumer):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def install() -> None:
    """Patch faust's Consumer once per process (idempotent)."""
    if getattr(Consumer, _MARK, False):
        return
    original_getmany = Consumer.getmany
    original_perform_seek = Consumer.perform_seek
    original_resume_flow = Consumer.resume_flow

    async def getmany(self: Consumer, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        round_id = _next_round(self)
        _rounds(self).add(round_id)
        try:
            async for item in original_getmany(self, timeout):
                yield item
        finally:
            _rounds(self).discard(round_id)

    async def perform_seek(self: Consumer) -> None:
        # With the flow stopped nothing is delivered (and getmany itself seeks this way:
        # waiting for fetches there would wait for ourselves).
        active = self._get_active_partitions() if self.flow_active else set()
        streams = {tp for tp in active if not self._is_changelog_tp(tp)}
        if streams:
            self.pause_partitions(streams)
            _held(self).update(streams)
            if not await wait_rounds_started_before(self):
                log.warning("a fetch still runs after %.0f s; seeking anyway", FETCH_WAIT_SECONDS)
        await original_perform_seek(self)
        # aiokafka seeks only partitions with a committed offset above 0: the others keep
        # their position, past whatever was delivered and is about to be cleared. Rewind
        # them to the start (the app resets to earliest) so those records are read again.
        unsought = sorted(tp for tp in streams if not self._committed_offset.get(tp))
        if unsought:
            starts = await self.earliest_offsets(
                *(self._new_topicpartition(tp.topic, tp.partition) for tp in unsought)
            )
            for tp, offset in starts.items():
                await self.seek(tp, offset)

    def resume_flow(self: Consumer) -> None:
        held = _held(self)
        # Faust also resumes the flow during a changelog restore, with the stream
        # partitions paused on purpose: those stay paused until recovery has ended.
        if held and not self.app.in_recovery:
            assigned = self.assignment()
            self.resume_partitions({tp for tp in held if tp in assigned})
            held.clear()
        original_resume_flow(self)

    Consumer.getmany = getmany  # type: ignore[method-assign,assignment]
    Consumer.perform_seek = perform_seek  # type: ignore[method-assign]
    Consumer.resume_flow = resume_flow  # type: ignore[method-assign]
    setattr(Consumer, _MARK, True)


def patched(consumer: Any) -> bool:
    return bool(getattr(type(consumer), _MARK, False))
