"""What a pipeline tells the worker about itself: the topics it consumes (for drain), and
the state tables whose changelog outboxes the relay publishes (and how)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import faust
from confluent_kafka import Message

from streams.observability.metrics import Metrics
from streams.settings import Settings


class Publish(NamedTuple):
    """One message the relay produces from an outbox entry."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, str | bytes | None]]
    delivered: Callable[[], None] | None = None  # metrics, called once the send is flushed


RelayHandler = Callable[[Message], list[Publish]]


@dataclass(frozen=True)
class Pipeline:
    name: str
    source_topics: tuple[str, ...]  # real topic names the pipeline's agents consume
    relays: dict[str, RelayHandler] = field(default_factory=dict)  # changelog topic -> handler
    # Run once when a drain has caught up (e.g. close matching windows); the drain then
    # waits until it has caught up with whatever the hook produced.
    on_caught_up: Callable[[], Awaitable[None]] | None = None


Register = Callable[[faust.App, Settings, Metrics], Pipeline]


def raw_topic(app: faust.App, settings: Settings, name: str) -> faust.TopicT:
    """A topic of ``name`` (logical) whose keys and values the agents decode themselves:
    an undecodable key must be dead-lettered, not crash the worker inside Faust."""
    return app.topic(
        settings.topic(name),
        partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
