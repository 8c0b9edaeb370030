"""Bulk restore (streams/runtime/state/restore.py): a worker that lost its local state
rebuilds it from the changelog before Faust starts, and keeps the books; a worker whose
state is current restores nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from streams.ingest.producer import ingest_file
from streams.kafka.topics import create_topics
from streams.ops.audit import audit
from streams.ops.ledger import read_ledger
from streams.settings import Settings
from streams.tools.batch import drain, worker_command, worker_env
from streams.tools.bench.ours import restored
from streams.tools.references import differences, expected_totals

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POS, PROMOTIONS = EXAMPLES / "pos.csv", EXAMPLES / "promotions.csv"


def drain_logged(settings: Settings) -> str:
    proc = subprocess.run(worker_command("--drain"), env=worker_env(settings),
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr


def test_lost_local_state_is_restored_in_bulk_and_the_books_are_kept(
    isolated_settings: Settings,
) -> None:
    settings = isolated_settings
    create_topics(settings)
    ingest_file(settings, POS, "pos")
    drain(settings)
    shutil.rmtree(settings.state_dir / "faust")  # the disk of a replaced pod
    ingest_file(settings, PROMOTIONS, "promotions")  # re-rates every period from the state
    done = restored(drain_logged(settings))
    assert done is not None and done[0] > 264, done  # marks, aggregates, rows
    assert differences(read_ledger(settings), expected_totals([POS], [PROMOTIONS])) == []
    assert all(r.reconciles for r in audit(settings))
    assert restored(drain_logged(settings)) is None  # a clean stop: the state is current
