"""`recon worker --drain` that cannot catch up in time fails loudly and names the
partitions still behind, with committed and end offsets (how a stuck or dropped record is
found: a committed offset that never moves)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from streams.ingest.producer import ingest_file
from streams.settings import Settings
from streams.tools.batch import worker_command, worker_env
from streams.tools.generate import FeedSpec, write_pos
from tests.integration.chaos import create_topics

pytestmark = pytest.mark.integration


def test_a_drain_that_times_out_names_the_partitions_behind(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    # Far more than a worker gets through in 0.5 s (a few hundred lines/s): some partition
    # is certainly behind when the timeout fires (the sample file was done within it).
    pos = tmp_path / "pos.csv"
    write_pos(pos, FeedSpec(lines=20_000, vendors=12))
    settings = isolated_settings.with_overrides(drain_timeout_seconds=0.5)
    create_topics(settings)
    ingest_file(settings, pos, "pos")
    done = subprocess.run(
        worker_command("--drain"),
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "not caught up after 0 s; behind: " in out, out
    assert f"{settings.topic('raw.pos')}[" in out and " of " in out, out
