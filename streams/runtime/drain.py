"""`recon worker --drain`: run until every input is processed and every output relayed.

Caught up means: the app's consumer group has committed the end offset of every raw
partition (Faust flushes its producer before each commit, and the batched agents flush
theirs before a batch is acked, so all outcomes, DLQ records and changelog writes up to
there are durable), and the ledger relay has committed the end of every changelog
partition. Checked twice in a row, with no end offset moved in between; then the
pipelines' ``on_caught_up``
hooks run once (matching closes its due windows), and after two more caught-up checks the
worker stops itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass, field

import faust

from streams.kafka import topics as t
from streams.kafka.read import Lag, LagProbe
from streams.relay.process import RelayProcess
from streams.runtime.pipeline import Pipeline
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class DrainState:
    started: float = field(default_factory=time.monotonic)
    consecutive: int = 0
    ends: Ends | None = None  # end offsets at the last caught-up check
    hooks_done: bool = False
    finished: bool = False
    error: str | None = None


Ends = tuple[tuple[str, int, int], ...]  # (topic, partition, end offset)


def behind(lags: list[Lag]) -> int:
    return sum(lag.behind for lag in lags)


class Watch:
    """The lags a drain watches: the app's group on the raw topics, the relay's group on
    the changelogs. One probe per group, kept for the whole drain."""

    def __init__(self, settings: Settings, pipelines: list[Pipeline]) -> None:
        self.settings = settings
        self.sources = [topic for p in pipelines for topic in p.source_topics]
        self.changelogs = sorted({topic for p in pipelines for topic in p.relays})
        self._probes: dict[str, LagProbe] = {}

    def _lag(self, group: str, topics: list[str]) -> list[Lag]:
        if not topics:
            return []
        if group not in self._probes:
            self._probes[group] = LagProbe(self.settings, group)
        return self._probes[group].lag(topics)

    def caught_up(self) -> tuple[bool, int, Ends]:
        """Whether both groups are at the end of their topics, how far behind they are, and
        the end offsets seen (a stage can hand a record on between the two questions: the
        drain also wants the ends unchanged between two checks)."""
        lags = self._lag(self.settings.app_id, self.sources)
        pending = behind(lags)
        if not pending:
            relay = self._lag(t.relay_group(self.settings), self.changelogs)
            lags, pending = lags + relay, behind(relay)
        return pending == 0, pending, tuple((x.topic, x.partition, x.end) for x in lags)

    def describe_behind(self) -> str:
        """The partitions still behind, with committed and end offsets: a partition whose
        committed offset never moves while its end is ahead points at a record the
        consumer will not commit past (a stuck record, or one dropped before it was
        processed)."""
        lags = self._lag(self.settings.app_id, self.sources)
        lags += self._lag(t.relay_group(self.settings), self.changelogs)
        behind_ = [
            f"{x.topic}[{x.partition}] at {x.committed} of {x.end}" for x in lags if x.behind
        ]
        return "; ".join(behind_[:12]) or "none"

    def close(self) -> None:
        for probe in self._probes.values():
            probe.close()
        self._probes.clear()


def install_drain(
    app: faust.App, settings: Settings, pipelines: list[Pipeline], relay: RelayProcess
) -> DrainState:
    state = DrainState()
    watch = Watch(settings, pipelines)

    def stop(error: str | None) -> None:
        state.error = error
        state.finished = True
        watch.close()
        os.kill(os.getpid(), signal.SIGTERM)  # the worker's own graceful shutdown path

    async def check() -> None:
        if state.finished:
            return
        if relay.failure is not None:
            stop(f"outbox relay failed: {relay.failure}")
            return
        if time.monotonic() - state.started > settings.drain_timeout_seconds:
            loop = asyncio.get_running_loop()
            where = await loop.run_in_executor(None, watch.describe_behind)
            stop(f"not caught up after {settings.drain_timeout_seconds:.0f} s; behind: {where}")
            return
        loop = asyncio.get_running_loop()
        done, pending, ends = await loop.run_in_executor(None, watch.caught_up)
        # Caught up twice in a row with nothing appended in between: no record is being
        # handed from one stage to the next (the relay can publish to a stage's input and
        # commit between the app group's lag question and its own).
        steady = done and ends == state.ends
        state.consecutive = state.consecutive + 1 if steady else int(done)
        state.ends = ends if done else None
        log.info("drain: %d records/changelog entries pending", pending)
        if state.consecutive >= 2:
            hooks = [p.on_caught_up for p in pipelines if p.on_caught_up is not None]
            if hooks and not state.hooks_done:
                # e.g. close matching windows: then catch up with what that produced
                state.hooks_done, state.consecutive = True, 0
                for hook in hooks:
                    await hook()
                return
            stop(None)

    app.timer(settings.drain_idle_seconds / 2, name="recon.drain")(check)
    return state
