"""Guarantee 5 (docs/design.md): a record that makes an agent throw is dead-lettered with the
category processing_error and a stack summary, and its partition keeps moving: the records
after it (same vendor, same partition) are processed, the audit reconciles and the ledger
equals the reference over the file without the poison lines.

The worker is the real one on the real broker, with a planted bug (poison_worker.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams.ingest.producer import ingest_file
from streams.ops import group as g
from streams.ops.audit import audit
from streams.ops.dlq import dlq_records
from streams.ops.ledger import read_ledger
from streams.settings import Settings
from streams.tools.batch import worker_env
from streams.tools.references import differences, expected_totals
from tests.integration.chaos import create_topics

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
POS, PROMOTIONS = ROOT / "examples" / "pos.csv", ROOT / "examples" / "promotions.csv"
POISON = (
    "POISON1,1,ST4,INI-7,INITECH,2,48.77,USD,2026-03-01T08:15:00Z\n",
    "POISON2,1,ST1,ACME-001,ACME,1,21.85,USD,2026-02-02T19:50:00Z\n",
)


def test_a_poison_pill_is_dead_lettered_and_the_partition_keeps_moving(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = isolated_settings
    header, *rows = POS.read_text().splitlines(keepends=True)
    # Poison early in the file: most of each vendor's records come after it.
    poisoned = tmp_path / "pos.csv"
    poisoned.write_text(
        header + rows[0] + POISON[0] + "".join(rows[1:5]) + POISON[1] + "".join(rows[5:])
    )
    clean = tmp_path / "clean.csv"
    clean.write_text(header + "".join(rows))
    create_topics(settings)
    ingest_file(settings, poisoned, "pos")
    ingest_file(settings, PROMOTIONS, "promotions")
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.poison_worker", "worker", "--drain"],
        env=worker_env(settings),
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0

    pills = [r for r in dlq_records(settings) if r["category"] == "processing_error"]
    assert sorted(r["source_line"] for r in pills) == [3, 8]
    for pill in pills:
        assert pill["stage"] == "compute"
        assert pill["error"].startswith("unexpected ZeroDivisionError: planted bug on POISON")
        assert "apply_sale (poison_worker.py:" in pill["error"]  # the stack summary
        assert bytes(pill["original"]).decode().startswith("POISON")  # original bytes kept
    row = next(r for r in audit(settings) if r.source_file == "pos.csv")
    assert row.reconciles and row.read == len(rows) + 2, row
    assert differences(read_ledger(settings), expected_totals([clean], [PROMOTIONS])) == []
    assert all(lag.lag.behind == 0 for lag in g.lags(settings))
