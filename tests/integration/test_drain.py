"""`recon worker --drain` that cannot catch up in time fails loudly and names the
partitions still behind, with committed and end offsets (how a stuck or dropped record is
found: a committed offset that never moves)."""

from __future__ import annotations

import subprocess

import pytest

from streams.ingest.producer import ingest_file
from streams.ops.batch import worker_command, worker_env
from streams.settings import Settings
from tests.integration.chaos import create_topics
from tests.integration.test_poison_pill import POS

pytestmark = pytest.mark.integration


def test_a_drain_that_times_out_names_the_partitions_behind(isolated_settings: Settings) -> None:
    settings = isolated_settings.with_overrides(drain_timeout_seconds=0.5)
    create_topics(settings)
    ingest_file(settings, POS, "pos")
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
