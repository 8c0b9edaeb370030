"""What a pipeline tells the worker about itself: the topics it consumes (for drain), and
the state tables whose changelog outboxes the relay publishes (and how)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import faust

from streams.domain.matching.messages import Tick
from streams.formats import ticks
from streams.observability.metrics import Metrics
from streams.relay.publish import RelayHandler
from streams.settings import Settings


@dataclass(frozen=True)
class Pipeline:
    name: str
    source_topics: tuple[str, ...]  # real topic names the pipeline's agents consume
    relays: dict[str, RelayHandler] = field(default_factory=dict)  # changelog topic -> handler
    # Run once when a drain has caught up (e.g. close matching windows); the drain then
    # waits until it has caught up with whatever the hook produced.
    on_caught_up: Callable[[], Awaitable[None]] | None = None


Register = Callable[[faust.App, Settings, Metrics], Pipeline]


MB = 1024 * 1024


def state_table(app: faust.App, settings: Settings, name: str) -> faust.types.TableT[bytes, bytes]:
    """A state table of raw bytes on RocksDB, within the memory budget of the settings."""
    options = {
        "block_cache_size": max(settings.state_cache_mb * MB // settings.partitions, MB),
        "write_buffer_size": settings.state_write_buffer_mb * MB,
        "max_write_buffer_number": 2,
    }
    return app.Table(
        name, partitions=settings.partitions, key_type=bytes, value_type=bytes, options=options
    )


def raw_topic(app: faust.App, settings: Settings, name: str) -> faust.TopicT:
    """A topic of ``name`` (logical) whose keys and values the agents decode themselves:
    an undecodable key must be dead-lettered, not crash the worker inside Faust."""
    return app.topic(
        settings.topic(name),
        partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
    )


def window_ticks(
    app: faust.App, settings: Settings, topic: faust.TopicT, name: str
) -> Callable[[], Awaitable[None]]:
    """Send a tick to every partition of ``topic`` every ``match_tick_seconds``, so a
    quiet feed still closes its windows on the wall clock; returns the end-of-input hook
    for ``Pipeline.on_caught_up``."""

    async def send_ticks(final: bool) -> None:
        value = ticks.encode(Tick(time.time_ns() // 1000, final))
        sent = [
            await topic.send(key=ticks.TICK_KEY, value=value, partition=p)
            for p in range(settings.partitions)
        ]
        for fut in sent:
            await fut  # delivered before the drain looks at the lag again

    async def periodic_tick() -> None:
        await send_ticks(False)

    async def close_windows() -> None:
        await send_ticks(settings.close_windows_at_end_of_input)

    app.timer(settings.match_tick_seconds, name=name)(periodic_tick)
    return close_windows
