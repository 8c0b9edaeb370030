"""The forwarding stage: raw records re-published to a pipeline's own input topic."""

from __future__ import annotations

from collections.abc import Callable

from faust.types import TopicT

from streams.formats.records import Source
from streams.observability.metrics import Metrics
from streams.runtime.decisions import Decision, Send
from streams.runtime.sequence import RecordProcessor


class Forward(RecordProcessor):
    """Re-publish each raw record to ``target``, bytes and headers untouched, keyed by
    ``key_of`` (None: the key it came with). The record's outcome is decided downstream;
    if forwarding it fails, dead-lettering it is its outcome."""

    def __init__(
        self,
        target: TopicT,
        outcomes: TopicT,
        dlq: TopicT,
        metrics: Metrics,
        key_of: Callable[[Source], bytes] | None = None,
    ) -> None:
        super().__init__(outcomes, dlq, metrics)
        self.target = target
        self.key_of = key_of

    def decide(self, src: Source) -> Decision:
        key = src.key if self.key_of is None else self.key_of(src)
        send = Send(self.target, key, src.value, "forward", headers=list(src.raw_headers))
        return Decision(None, sends=[send])
