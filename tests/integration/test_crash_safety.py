"""kill -9 of the worker at random points while a feed streams in, several times, then a
drain: the ledger equals the reference to the cent, the audit reconciles, and no entry id
reached the ledger topic with two amounts.

The feed size is RECON_CRASH_LINES (default 20,000 so the suite stays within its time
budget on 2 cores; the issue's soak figure of 200,000 runs with RECON_CRASH_LINES=200000).

Opt-in soak test (`pytest -m soak`), not part of `make test`: it currently FAILS — after
the kills the final `recon worker --drain` did not finish within 600 s on 8,000 lines
(first run, 2026-11-23). Open work on issue 5: find whether the restarted worker waits on
the killed members' sessions or hangs in changelog recovery, fix it, then make this test
part of the suite.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from streams.ingest.producer import ingest_file
from streams.ledger.check import differences, expected_totals
from streams.ledger.reader import read_ledger
from streams.ops.audit import audit
from streams.ops.batch import drain, worker_command, worker_env
from streams.ops.generate import FeedSpec, write_pos, write_promotions
from streams.ops.topics import create_topics
from streams.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.soak]

LINES = int(os.environ.get("RECON_CRASH_LINES", "20000"))
KILLS = 3


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        worker_command(),
        env=worker_env(settings),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_9(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_kill_9_while_streaming_keeps_the_books_exact(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = isolated_settings
    spec = FeedSpec(lines=LINES, vendors=20, seed=11)
    pos, promotions = tmp_path / "pos.csv", tmp_path / "promotions.csv"
    write_pos(pos, spec)
    write_promotions(promotions, spec)
    create_topics(settings)

    # Ingest in the background, agreements late (after a third of the sales).
    def feed() -> None:
        third = tmp_path / "pos_first_third.csv"
        lines = pos.read_text().splitlines(keepends=True)
        cut = 1 + len(lines) // 3
        third.write_text("".join(lines[:cut]))
        rest = tmp_path / "pos_rest.csv"
        rest.write_text(lines[0] + "".join(lines[cut:]))
        ingest_file(settings, third, "pos")
        ingest_file(settings, promotions, "promotions")
        ingest_file(settings, rest, "pos")

    feeder = threading.Thread(target=feed)
    rng = random.Random(5)
    worker = start_worker(settings)
    feeder.start()
    for _ in range(KILLS):
        time.sleep(rng.uniform(6.0, 12.0))  # startup + recovery take a few seconds
        kill_9(worker)
        worker = start_worker(settings)
    feeder.join()
    time.sleep(rng.uniform(3.0, 6.0))
    kill_9(worker)
    drain(settings)  # restart after the last kill and run to completion

    ledger = read_ledger(settings)  # raises if an entry id carries two amounts
    assert differences(ledger, expected_totals([pos], [promotions])) == []
    rows = {r.source_file: r for r in audit(settings)}
    for name in ("pos_first_third.csv", "pos_rest.csv", "promotions.csv"):
        assert rows[name].reconciles, rows[name]
    assert sum(rows[n].read for n in ("pos_first_third.csv", "pos_rest.csv")) == LINES
    # Re-relayed entries are harmless (counted once) but worth reporting.
    print(
        f"crash test: {LINES} lines, {KILLS + 1} kill -9, {len(ledger.entries)} entries, "
        f"{ledger.duplicate_copies} duplicate entry copies on the ledger topic"
    )
