"""What a relay handler turns one changelog record into: the messages to produce."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from confluent_kafka import Message


class Publish(NamedTuple):
    """One message the relay produces from an outbox entry."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, str | bytes | None]]
    delivered: Callable[[], None] | None = None  # metrics, called once the send is flushed


RelayHandler = Callable[[Message], list[Publish]]
