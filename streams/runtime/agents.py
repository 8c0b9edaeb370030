"""Agents: each runs a processor over its topic in batches through the sequence, and exits
the worker on a condition the sequence cannot handle."""

from __future__ import annotations

import logging
import os
from typing import Any, NoReturn

import faust
from faust.types import StreamT, TopicT

from streams.runtime.decisions import WorkerMustStop
from streams.runtime.sequence import RecordProcessor
from streams.settings import Settings

log = logging.getLogger(__name__)

EXIT_BATCH_FAILED = 70  # EX_SOFTWARE


def exit_without_acking(agent: str, exc: BaseException) -> NoReturn:
    """A batch whose outputs may not all be durable must not be acked, and Faust would ack
    it (``take_events`` acks a batch even when its consumer raises, and a stopping worker
    commits what was acked). So exit at once, as kill -9 would: the restarted worker
    rebuilds its state from the changelog and processes the batch again."""
    log.critical("%s: a batch failed, exiting without committing it: %s", agent, exc, exc_info=exc)
    logging.shutdown()
    os._exit(EXIT_BATCH_FAILED)


def attach(
    app: faust.App,
    settings: Settings,
    topic: TopicT,
    processor: RecordProcessor,
    name: str,
    *,
    one_at_a_time: bool = False,
) -> None:
    """Run ``processor`` over the events of ``topic`` as the agent ``name``, in batches of
    up to ``agent_batch_max`` events, or of one (``one_at_a_time``)."""
    processor.agent = name
    batch_max = 1 if one_at_a_time else settings.agent_batch_max
    processor.records_per_part = settings.agent_part_records

    async def process(stream: StreamT[Any]) -> None:
        # faust-streaming has take_events; its StreamT stub does not declare it.
        batches = stream.take_events(  # type: ignore[attr-defined]
            batch_max, settings.agent_batch_seconds
        )
        async for events in batches:
            try:
                await processor.run(events)
            except WorkerMustStop as exc:
                exit_without_acking(name, exc)

    app.agent(topic, name=name)(process)
