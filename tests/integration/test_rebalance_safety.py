"""Guarantee 2 (docs/design.md): a second worker joins mid-stream and leaves again, twice (once
gracefully, once by kill -9), while the feed streams in; the partitions move to it and
back (table partitions recovered from the changelogs each way). Same checks as the
kill -9 test: ledger to the cent, audit reconciles, no entry id with two amounts.

Each worker has its own state directory, as on two hosts.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.integration.chaos import (
    Feed,
    Worker,
    check_books,
    create_topics,
    wait_for_members,
    wait_for_progress,
)

pytestmark = pytest.mark.integration

LINES = 6000


def test_a_worker_joining_and_leaving_mid_stream_keeps_the_books_exact(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = isolated_settings
    second = settings.with_overrides(home=tmp_path / "home-second")
    feed = Feed.write(tmp_path, LINES, seed=31)
    create_topics(settings)
    rng = random.Random(31)
    # Parts are fed as the steps need them, so every wait for progress has fresh records
    # (a clock-paced feed ran dry before a slow rebalance ended, in a loaded full suite).
    feeder = feed.ingest_on_demand(settings)
    first = Worker(settings, tmp_path / "first.log")
    wait_for_members(settings, 1)
    wait_for_progress(settings, first)

    joiner = Worker(second, tmp_path / "second-1.log")  # joins: a rebalance
    wait_for_members(settings, 2)
    wait_for_progress(settings, joiner, feeder)  # the group moves on with two members
    time.sleep(rng.uniform(0.0, 3.0))
    feeder.more()  # arriving while it leaves
    joiner.stop()  # leaves cleanly: another rebalance, its partitions go back

    wait_for_members(settings, 1)
    wait_for_progress(settings, first, feeder)
    joiner = Worker(second, tmp_path / "second-2.log")
    wait_for_members(settings, 2)
    wait_for_progress(settings, joiner, feeder)
    time.sleep(rng.uniform(0.0, 3.0))
    joiner.kill_9()  # leaves by crashing: its partitions move after the session timeout

    feeder.finish()
    wait_for_members(settings, 1)
    first.stop()
    books = check_books(settings, feed)
    print(
        f"\nrebalance test: {LINES} lines, {books.entries} ledger entries, "
        f"{books.duplicate_copies} duplicate entry_id copies on the ledger topic"
    )
