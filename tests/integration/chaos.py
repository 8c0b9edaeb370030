"""Helpers for the crash-safety tests: a synthetic feed streamed in the background, workers
as real processes (killed with SIGKILL, stopped with SIGTERM), and the books check every
crash test ends with.

Worker output goes to a log file per process under the test's tmp dir, so a failure can be
read after the fact (``pytest --basetemp`` keeps them).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException

from streams.errors import ReconError
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import group_lag
from streams.ops.audit import audit
from streams.ops.group import describe_group
from streams.ops.ledger import read_ledger
from streams.settings import Settings
from streams.tools.batch import drain, worker_command, worker_env
from streams.tools.generate import FeedSpec, write_pos, write_promotions
from streams.tools.references import differences, expected_totals


@dataclass(frozen=True)
class Feed:
    """A POS file cut into ``chunks`` files ingested one after another with a pause between
    them (so records keep arriving while workers crash), and the promotions file ingested
    after the first third of them (late agreements). Duplicates, returns, amendments and
    bad lines come from FeedSpec."""

    pos: Path
    promotions: Path
    parts: tuple[Path, ...]
    lines: int

    @classmethod
    def write(cls, folder: Path, lines: int, seed: int = 11, chunks: int = 12) -> Feed:
        spec = FeedSpec(lines=lines, vendors=20, seed=seed)
        pos, promotions = folder / "pos.csv", folder / "promotions.csv"
        write_pos(pos, spec)
        write_promotions(promotions, spec)
        header, *rows = pos.read_text().splitlines(keepends=True)
        size = -(-len(rows) // chunks)
        parts = []
        for n in range(chunks):
            part = folder / f"pos_part{n + 1:02d}.csv"
            part.write_text(header + "".join(rows[n * size : (n + 1) * size]))
            parts.append(part)
        return cls(pos, promotions, tuple(parts), lines)

    def ingest(self, settings: Settings, pause: float = 0.0) -> None:
        late = max(1, len(self.parts) // 3)
        for n, part in enumerate(self.parts):
            if n == late:
                ingest_file(settings, self.promotions, "promotions")
            ingest_file(settings, part, "pos")
            time.sleep(pause)

    def ingest_in_background(self, settings: Settings, pause: float) -> Feeder:
        return Feeder(lambda: self.ingest(settings, pause))

    def ingest_on_demand(self, settings: Settings, ahead: int = 2) -> SteppedFeeder:
        return SteppedFeeder(self, settings, ahead)


class Feeder(threading.Thread):
    """Runs an ingest in a thread; ``join_checked`` re-raises its error in the test."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name="feeder", daemon=True)
        self.work = work
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # surfaced by join_checked
            self.error = exc

    def join_checked(self, timeout: float = 600.0) -> None:
        self.join(timeout)
        assert not self.is_alive(), f"ingest still running after {timeout:.0f} s"
        if self.error is not None:
            raise self.error


class SteppedFeeder(Feeder):
    """Ingests the parts in order, each once the test has asked for it (``more``), so a
    wait for progress always has fresh records to process however slow the machine is (a
    feed paced by the clock can run dry before a slow rebalance ends), and records keep
    arriving while workers join, leave and crash. ``finish`` releases the rest."""

    def __init__(self, feed: Feed, settings: Settings, ahead: int) -> None:
        self.released = threading.Semaphore(ahead)
        self.parts = len(feed.parts)
        super().__init__(lambda: self._ingest(feed, settings))

    def _ingest(self, feed: Feed, settings: Settings) -> None:
        late = max(1, len(feed.parts) // 3)
        for n, part in enumerate(feed.parts):
            self.released.acquire()
            if n == late:
                ingest_file(settings, feed.promotions, "promotions")
            ingest_file(settings, part, "pos")

    def more(self, parts: int = 2) -> None:
        self.released.release(parts)

    def finish(self) -> None:
        self.released.release(self.parts)
        self.join_checked()


_started: list[subprocess.Popen[bytes]] = []


def reap_workers() -> None:
    """Kill every worker a test started that is still running (a failed test must not
    leave workers consuming the shared machine). Called after each integration test."""
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


class Worker:
    """`recon worker` as its own process group (so SIGKILL takes every thread with it)."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                worker_command(),
                env=worker_env(settings),
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _started.append(self.proc)

    def kill_9(self) -> None:
        assert self.proc.poll() is None, f"worker died on its own: see {self.log}"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 120.0) -> None:
        """A graceful stop (SIGTERM): the worker leaves the group and must exit 0."""
        assert self.proc.poll() is None, f"worker died on its own: see {self.log}"
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=timeout) == 0, f"worker exit status: see {self.log}"


def committed_total(settings: Settings) -> int:
    """Records the app's group has committed on the raw topics (progress marker); -1 while
    the cluster cannot say (e.g. partition leaders of just-created topics not known yet)."""
    topics = [settings.topic(t.RAW_POS), settings.topic(t.RAW_PROMOTIONS)]
    try:
        lags = group_lag(settings, settings.app_id, topics)
    except (KafkaException, ReconError):
        return -1
    return sum(lag.committed or 0 for lag in lags)


def create_topics(settings: Settings) -> None:
    """Create the app's topics and wait until every raw partition has a leader that
    answers (right after creation, watermark queries can fail with NOT_LEADER)."""
    t.create_topics(settings)
    deadline = time.monotonic() + 60
    while committed_total(settings) < 0:
        assert time.monotonic() < deadline, "created topics never became usable"
        time.sleep(0.5)


def wait_for_progress(
    settings: Settings,
    worker: Worker,
    feeder: SteppedFeeder | None = None,
    timeout: float = 180.0,
) -> None:
    """Wait until the group commits something new (the worker joined, recovered and is
    processing), so a kill that follows lands mid-processing, not mid-startup. With a
    ``feeder``, more of the feed is released once the baseline is taken: there is always
    something new to commit, even if the group had caught up with everything before."""
    start = max(committed_total(settings), 0)
    if feeder is not None:
        feeder.more()
    deadline = time.monotonic() + timeout
    while committed_total(settings) <= start:
        assert worker.proc.poll() is None, f"worker died on its own: see {worker.log}"
        assert time.monotonic() < deadline, f"no progress in {timeout:.0f} s: see {worker.log}"
        time.sleep(0.5)


def wait_for_members(settings: Settings, count: int, timeout: float = 180.0) -> None:
    """Wait until the app's group is stable with ``count`` members (a joiner got its
    partitions; a leaver's were handed back)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = describe_group(settings, settings.app_id)
            if info.state == "stable" and len(info.members) == count:
                return
        except (KafkaException, ReconError):
            info = None
        assert time.monotonic() < deadline, f"group never stable with {count} members: {info}"
        time.sleep(0.5)


def kill_loop(
    settings: Settings,
    folder: Path,
    kills: int,
    rng: random.Random,
    feeder: SteppedFeeder,
    max_delay: float = 5.0,
) -> Worker:
    """Start a worker, then ``kills`` times: feed more, let it make progress, wait a random
    moment, kill -9 it and start a new one. Returns the last (live) worker."""
    worker = Worker(settings, folder / "worker-0.log")
    for n in range(1, kills + 1):
        wait_for_progress(settings, worker, feeder)
        time.sleep(rng.uniform(0.0, max_delay))
        worker.kill_9()
        worker = Worker(settings, folder / f"worker-{n}.log")
    return worker


@dataclass(frozen=True)
class Books:
    entries: int
    duplicate_copies: int  # ledger messages beyond the first copy of each entry_id


def check_books(settings: Settings, feed: Feed, drain_timeout: float = 600.0) -> Books:
    """Drain (a fresh worker runs to completion), then: the ledger equals the reference to
    the cent, no entry id carries two amounts (read_ledger raises), the audit reconciles
    and every line was read exactly once per file."""
    drain(settings.with_overrides(drain_timeout_seconds=drain_timeout), drain_timeout + 120)
    ledger = read_ledger(settings)
    assert differences(ledger, expected_totals([feed.pos], [feed.promotions])) == []
    rows = {r.source_file: r for r in audit(settings)}
    names = [p.name for p in (*feed.parts, feed.promotions)]
    for name in names:
        assert rows[name].reconciles, rows[name]
    assert sum(rows[p.name].read for p in feed.parts) == feed.lines
    return Books(len(ledger.entries), ledger.duplicate_copies)
