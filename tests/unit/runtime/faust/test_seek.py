"""The recovery-end seek fix: stream partitions stay paused from the seek until Faust has
cleared the agents' queues and resumes the flow, and the seek waits for the fetch
rounds in progress (streams/runtime/faust/seek.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.consumer import Consumer
from faust.types import TP

from streams.runtime.faust import seek as faust_seek

pytestmark = pytest.mark.unit

STREAM, OTHER, CHANGELOG = TP("raw", 0), TP("raw", 1), TP("app-state-changelog", 0)


class FakeConsumer(SimpleNamespace):
    """The attributes and methods the patched Consumer methods use."""

    def __init__(
        self,
        *,
        flow_active: bool = True,
        in_recovery: bool = False,
        committed: dict[TP, int | None] | None = None,
    ) -> None:
        super().__init__(
            committed={STREAM: 5, OTHER: 7} if committed is None else committed,
            rewound=[],
            flow_active=flow_active,
            app=SimpleNamespace(in_recovery=in_recovery),
            active={STREAM, OTHER, CHANGELOG},
            active_at_seek=None,
            _read_offset={},
            _committed_offset={},
            can_resume_flow=asyncio.Event(),
            suspend_flow=asyncio.Event(),
        )

    def _get_active_partitions(self) -> set[TP]:
        return self.active  # type: ignore[no-any-return]

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp.topic.endswith("-changelog")

    def pause_partitions(self, tps: set[TP]) -> None:
        self.active -= tps

    def resume_partitions(self, tps: set[TP]) -> None:
        self.active |= tps

    def assignment(self) -> set[TP]:
        return {STREAM, OTHER, CHANGELOG}

    async def seek_to_committed(self) -> dict[TP, int | None]:
        self.active_at_seek = set(self.active)
        return dict(self.committed)

    def _new_topicpartition(self, topic: str, partition: int) -> TP:
        return TP(topic, partition)

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return {tp: 0 for tp in tps}

    async def seek(self, tp: TP, offset: int) -> None:
        self.rewound.append((tp, offset))


def perform_seek(consumer: Any) -> None:
    faust_seek.install()
    asyncio.run(Consumer.perform_seek(consumer))


def test_streams_are_paused_from_the_seek_until_the_flow_resumes() -> None:
    consumer = FakeConsumer()
    perform_seek(consumer)
    assert consumer.active_at_seek == {CHANGELOG}  # nothing can be delivered meanwhile
    assert consumer.active == {CHANGELOG}  # still paused while faust clears the queues
    Consumer.resume_flow(consumer)  # type: ignore[arg-type]
    assert consumer.active == {STREAM, OTHER, CHANGELOG}
    assert consumer.flow_active


def test_partitions_aiokafka_does_not_seek_are_rewound_to_the_start() -> None:
    # aiokafka skips a committed offset of None or 0: records delivered before the clear
    # would be lost (a drain then waits forever at offset 0)
    consumer = FakeConsumer(committed={STREAM: 5, OTHER: None})
    perform_seek(consumer)
    assert consumer.rewound == [(OTHER, 0)]
    consumer = FakeConsumer(committed={STREAM: 0, OTHER: 7})
    perform_seek(consumer)
    assert consumer.rewound == [(STREAM, 0)]


def test_held_streams_stay_paused_while_a_changelog_restore_runs() -> None:
    consumer = FakeConsumer()
    perform_seek(consumer)
    consumer.app.in_recovery = True  # faust resumes the flow to restore the tables
    Consumer.resume_flow(consumer)  # type: ignore[arg-type]
    assert consumer.active == {CHANGELOG}
    consumer.app.in_recovery = False
    Consumer.resume_flow(consumer)  # type: ignore[arg-type]
    assert consumer.active == {STREAM, OTHER, CHANGELOG}


def test_with_the_flow_stopped_nothing_is_paused_or_awaited() -> None:
    consumer = FakeConsumer(flow_active=False)
    consumer.__dict__["_recon_rounds"] = {1}  # getmany seeking from inside itself
    perform_seek(consumer)
    assert consumer.active_at_seek == {STREAM, OTHER, CHANGELOG}


def test_the_seek_waits_for_the_rounds_in_progress_not_for_later_ones() -> None:
    async def scenario() -> list[str]:
        faust_seek.install()
        consumer = FakeConsumer()
        consumer.__dict__["_recon_rounds"] = {1}
        seek = asyncio.ensure_future(Consumer.perform_seek(consumer))  # type: ignore[arg-type]
        await asyncio.sleep(0.1)
        steps = ["sought" if consumer.active_at_seek is not None else "waiting"]
        # round 1 ends and the fetcher starts round 2 at once: that one fetches after the
        # pause, so the seek must not wait for it (it would never see "no round at all")
        consumer.__dict__["_recon_rounds"] = {2}
        await asyncio.wait_for(seek, 5)
        steps.append("sought" if consumer.active_at_seek is not None else "waiting")
        return steps

    assert asyncio.run(scenario()) == ["waiting", "sought"]
