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
from dataclasses import dataclass, replace
from pathlib import Path

from confluent_kafka import KafkaException

from streams.errors import ReconError
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import group_lag
from streams.ops.audit import FileAudit, audit
from streams.ops.group import describe_group
from streams.ops.ledger import Ledger, read_ledger
from streams.settings import Settings
from streams.tools.batch import drain, worker_command, worker_env
from streams.tools.generate import FeedSpec, write_claims, write_pos, write_promotions
from streams.tools.references import differences, expected_totals


@dataclass(frozen=True)
class Feed:
    """A POS file cut into ``chunks`` files ingested one after another with a pause between
    them (so records keep arriving while workers crash), and the promotions file ingested
    after the first third of them (late agreements). Duplicates, returns, amendments and
    bad lines come from FeedSpec. With ``claims``, the POS file is in time order and vendor
    claims over the feed (``write_claims``) come in two parts: the first before any sale
    (claims wait for their sales and agreements), the second (amended versions, double
    claims) with the last POS part."""

    pos: Path
    promotions: Path
    parts: tuple[Path, ...]
    lines: int
    claims: Path | None = None
    claim_parts: tuple[Path, ...] = ()

    @classmethod
    def write(
        cls, folder: Path, lines: int, seed: int = 11, chunks: int = 12, claims: bool = False
    ) -> Feed:
        spec = FeedSpec(lines=lines, vendors=20, seed=seed)
        pos, promotions = folder / "pos.csv", folder / "promotions.csv"
        write_pos(pos, spec)
        write_promotions(promotions, spec)
        if claims:
            # In time order, so a month's sales are complete part-way through the feed and
            # its claims settle (and are reversed by their amended versions) while workers
            # crash, not only at the end.
            header, *rows = pos.read_text().splitlines(keepends=True)
            pos.write_text(header + "".join(sorted(rows, key=lambda r: r.rsplit(",", 1)[-1])))
        feed = cls(pos, promotions, split(pos, chunks), lines)
        if not claims:
            return feed
        claim_file = folder / "claims.csv"
        first = write_claims(claim_file, pos, promotions)
        header, *rows = claim_file.read_text().splitlines(keepends=True)
        parts = write_parts(claim_file, header, [rows[:first], rows[first:]])
        return replace(feed, claims=claim_file, claim_parts=parts)

    def steps(self) -> list[list[tuple[Path, str]]]:
        """The files ingested at each step, in order (one POS part a step)."""
        steps = [[(part, "pos")] for part in self.parts]
        steps[max(1, len(self.parts) // 3)].insert(0, (self.promotions, "promotions"))
        if self.claim_parts:
            first, *rest = self.claim_parts
            steps[0].insert(0, (first, "claims"))
            steps[-1] += [(part, "claims") for part in rest]
        return steps

    def ingest(self, settings: Settings, pause: float = 0.0) -> None:
        for step in self.steps():
            ingest_step(settings, step)
            time.sleep(pause)

    def ingest_in_background(self, settings: Settings, pause: float) -> Feeder:
        return Feeder(lambda: self.ingest(settings, pause))

    def ingest_on_demand(self, settings: Settings, ahead: int = 2) -> SteppedFeeder:
        return SteppedFeeder(self, settings, ahead)


def split(path: Path, chunks: int) -> tuple[Path, ...]:
    """``path`` (a CSV file) cut into ``chunks`` files of consecutive rows."""
    header, *rows = path.read_text().splitlines(keepends=True)
    size = -(-len(rows) // chunks)
    return write_parts(path, header, [rows[n * size : (n + 1) * size] for n in range(chunks)])


def write_parts(path: Path, header: str, groups: list[list[str]]) -> tuple[Path, ...]:
    """Each group of rows as a CSV file with the header row, next to ``path``
    (``pos.csv``: ``pos_part01.csv``, ...)."""
    parts = []
    for n, rows in enumerate(groups):
        part = path.with_name(f"{path.stem}_part{n + 1:02d}.csv")
        part.write_text(header + "".join(rows))
        parts.append(part)
    return tuple(parts)


def ingest_step(settings: Settings, step: list[tuple[Path, str]]) -> None:
    for path, kind in step:
        ingest_file(settings, path, kind)


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
        for step in feed.steps():
            self.released.acquire()
            ingest_step(settings, step)

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


SALES = (t.RAW_POS, t.RAW_PROMOTIONS)
SALES_AND_CLAIMS = (*SALES, t.RAW_CLAIMS)  # raw.claims also gets the claims agent's ticks


def committed_total(settings: Settings, topics: tuple[str, ...] = SALES) -> int:
    """Records the app's group has committed on the raw ``topics`` (progress marker); -1
    while the cluster cannot say (e.g. partition leaders of just-created topics not known
    yet)."""
    try:
        lags = group_lag(settings, settings.app_id, [settings.topic(x) for x in topics])
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
    topics: tuple[str, ...] = SALES,
) -> None:
    """Wait until the group commits something new (the worker joined, recovered and is
    processing), so a kill that follows lands mid-processing, not mid-startup. With a
    ``feeder``, more of the feed is released once the baseline is taken: there is always
    something new to commit, even if the group had caught up with everything before."""
    start = max(committed_total(settings, topics), 0)
    if feeder is not None:
        feeder.more()
    deadline = time.monotonic() + timeout
    while committed_total(settings, topics) <= start:
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
    ledger: Ledger
    files: dict[str, FileAudit]  # the audit, by source file


def check_books(settings: Settings, feed: Feed, drain_timeout: float = 600.0) -> Books:
    """Drain (a fresh worker runs to completion), then: the ledger equals the reference to
    the cent (its accrual entries: a claims feed's settlements are checked by its test),
    no entry id carries two amounts (read_ledger raises), the audit reconciles and every
    line was read exactly once per file."""
    drain(settings.with_overrides(drain_timeout_seconds=drain_timeout), drain_timeout + 120)
    ledger = read_ledger(settings)
    assert differences(ledger.accruals(), expected_totals([feed.pos], [feed.promotions])) == []
    rows = {r.source_file: r for r in audit(settings)}
    names = [p.name for p in (*feed.parts, feed.promotions, *feed.claim_parts)]
    for name in names:
        assert rows[name].reconciles, rows[name]
    assert sum(rows[p.name].read for p in feed.parts) == feed.lines
    return Books(len(ledger.entries), ledger.duplicate_copies, ledger, rows)
