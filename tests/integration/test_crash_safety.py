"""Guarantee 1 (docs/design.md): kill -9 of the worker at random points while a feed streams in,
restarted each time, several times in one test; then a drain. The ledger equals the
reference to the cent, the audit reconciles, and no entry id reached the ledger topic with
two amounts. The number of re-relayed copies of entries on the topic is printed (`-s`).

The feed arrives in 12 parts, two more released before each kill (the rest after the
last), so the worker always has fresh records. Each kill waits until the worker has
committed progress since its start, then a random 0-5 s: it lands while records are being
processed, state written and entries relayed, not during startup (a worker killed before
joining proves nothing).

Two sizes: a default-suite run (RECON_CRASH_LINES_QUICK, 6,000 lines, 3 kills, about
1.5-2 minutes) and an opt-in soak (`pytest -m soak`, RECON_CRASH_LINES, default 200,000
lines, 5 kills; the worker does ~400 lines/s on 2 shared cores, so it takes 10-20
minutes).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.integration.chaos import Feed, check_books, create_topics, kill_loop

pytestmark = pytest.mark.integration

QUICK_LINES = int(os.environ.get("RECON_CRASH_LINES_QUICK", "6000"))
SOAK_LINES = int(os.environ.get("RECON_CRASH_LINES", "200000"))


def run_kill_9(settings: Settings, folder: Path, lines: int, kills: int, seed: int) -> None:
    feed = Feed.write(folder, lines, seed=seed)
    create_topics(settings)
    rng = random.Random(seed)
    feeder = feed.ingest_on_demand(settings)
    worker = kill_loop(settings, folder, kills, rng, feeder)
    feeder.finish()
    worker.kill_9()  # the last one dies too; the drain is a fresh start after a crash
    timeout = max(600.0, lines / 100)  # ~400 lines/s; 4x margin on shared cores
    books = check_books(settings, feed, drain_timeout=timeout)
    print(
        f"\nkill -9 test: {lines} lines, {kills + 1} kills, {books.entries} ledger entries, "
        f"{books.duplicate_copies} duplicate entry_id copies on the ledger topic"
    )


def test_kill_9_while_streaming_keeps_the_books_exact(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    run_kill_9(isolated_settings, tmp_path, QUICK_LINES, kills=3, seed=11)


@pytest.mark.soak
def test_kill_9_soak_200k_lines(isolated_settings: Settings, tmp_path: Path) -> None:
    run_kill_9(isolated_settings, tmp_path, SOAK_LINES, kills=5, seed=23)
