"""The archive target on a local directory: files per (topic, business date, partition),
commit records with positions, the sweep of uncommitted files at start, verify."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from streams.delivery.archive import TMP_PREFIX, ArchiveTarget, archived_files, verify
from streams.delivery.target import Entry, Position
from streams.errors import DeliveryError

pytestmark = pytest.mark.unit

TOPIC = "recon.ledger"


def entry(n: int, partition: int, offset: int, day: int) -> Entry:
    record = {
        "entry_id": f"e{n}",
        "agreement_id": "A1",
        "vendor_id": "V1",
        "period": "2026-03",
        "kind": "accrual",
        "amount": Decimal("12.34"),
        "currency": "EUR",
        "debit_account": "d",
        "credit_account": "c",
        "measure": Decimal("1.000000"),
        "posted_total": Decimal("12.34"),
        "source_key": "k",
        "source_file": "pos.csv",
        "source_line": n,
        "correlation_id": f"r:{n}",
        "created_at": datetime(2026, 3, day, 23, 30, tzinfo=UTC),
    }
    return Entry(TOPIC, partition, offset, record)


def test_a_batch_commits_one_file_per_date_and_partition_with_its_positions(
    tmp_path: Path,
) -> None:
    target = ArchiveTarget(tmp_path)
    target.start()
    batch = [entry(1, 0, 10, 30), entry(2, 0, 11, 31), entry(3, 1, 5, 30), entry(4, 0, 12, 30)]
    target.deliver("g", batch, [Position(TOPIC, 0, 13), Position(TOPIC, 1, 6)])
    files = sorted(str(p.relative_to(tmp_path)) for p in archived_files(tmp_path))
    assert files == [
        f"{TOPIC}/date=2026-03-30/p000-o00000000000000000010.parquet",
        f"{TOPIC}/date=2026-03-30/p001-o00000000000000000005.parquet",
        f"{TOPIC}/date=2026-03-31/p000-o00000000000000000011.parquet",
    ]
    first = pq.read_table(tmp_path / files[0]).to_pylist()
    assert [r["entry_id"] for r in first] == ["e1", "e4"]
    assert first[0]["amount"] == Decimal("12.34") and first[0]["ledger_offset"] == 10
    assert target.stored_positions("g", TOPIC) == {0: 13, 1: 6}
    assert target.stored_positions("other", TOPIC) == {}
    result = verify(tmp_path)
    assert (result.files, result.rows, result.problems) == (3, 4, [])
    target.close()


def test_start_sweeps_what_no_commit_record_lists(tmp_path: Path) -> None:
    target = ArchiveTarget(tmp_path)
    target.start()
    target.deliver("g", [entry(1, 0, 0, 30)], [Position(TOPIC, 0, 1)])
    target.close()
    day = tmp_path / TOPIC / "date=2026-03-30"
    committed = next(day.glob("*.parquet"))
    orphan = day / "p000-o00000000000000000001.parquet"  # renamed, never committed
    orphan.write_bytes(committed.read_bytes())
    half = day / f"{TMP_PREFIX}p000-o00000000000000000002.parquet"
    half.write_bytes(b"PAR1 half")
    assert "not in any commit record" in verify(tmp_path).problems[0]
    restarted = ArchiveTarget(tmp_path)
    restarted.start()
    assert not orphan.exists() and not half.exists() and committed.exists()
    assert verify(tmp_path).problems == []
    restarted.close()


def test_one_deliverer_per_directory(tmp_path: Path) -> None:
    first = ArchiveTarget(tmp_path)
    first.start()
    with pytest.raises(DeliveryError, match="in use"):
        ArchiveTarget(tmp_path).start()
    first.close()


def test_verify_refuses_a_directory_that_is_no_archive(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="not an archive"):
        verify(tmp_path)


def test_events_go_to_their_topic_by_event_date_with_the_record_as_json(tmp_path: Path) -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    exc = {
        "event_id": "X1:1",
        "exception_id": "X1",
        "status": "open",
        "kind": "mismatch",
        "seq": 1,
        "event_at": at,
        "differences": [{"field": "price", "value": Decimal("1.50"), "partner_value": "2"}],
    }
    target = ArchiveTarget(tmp_path)
    target.start()
    event = Entry("recon.exceptions", 2, 40, exc, schema="match_exception")
    target.deliver("g", [event, entry(1, 0, 0, 30)], [Position(TOPIC, 0, 1)])
    (path,) = archived_files(tmp_path / "recon.exceptions")
    assert path.parent.name == "date=2026-03-02"
    (row,) = pq.read_table(path).to_pylist()
    assert (row["subject_id"], row["state"], row["seq"], row["source_offset"]) == (
        "X1",
        "open",
        1,
        40,
    )
    assert '"value": "1.50"' in row["record"]
    assert verify(tmp_path).rows == 2
    target.close()
