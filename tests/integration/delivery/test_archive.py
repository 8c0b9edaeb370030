"""`recon deliver archive` on the real broker: Parquet files per topic and business date,
committed atomically with their SHA-256 and row counts; `recon archive verify` proves the
archive whole and finds a modified, a missing and a stray file; kill -9 mid-stream never
leaves a half file visible, and the archive ends holding every message once."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from streams.delivery.archive import ArchiveTarget, archived_files, verify
from streams.delivery.breaker import Breaker
from streams.delivery.loop import DeliveryLoop
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.settings import Settings
from tests.integration.delivery.event_feed import AT, document_match, exception, match, send
from tests.integration.delivery.ledger_feed import (
    DAYS,
    LoopThread,
    end_offsets,
    ledger_totals,
    postings,
    publish,
    wait_until,
)
from tests.integration.delivery.processes import Deliverer, recon

pytestmark = pytest.mark.integration


def archive_settings(isolated_settings: Settings, tmp_path: Path, **overrides: object) -> Settings:
    return isolated_settings.with_overrides(
        archive_dir=tmp_path / "archive",
        deliver_poll_seconds=0.1,
        session_timeout_seconds=6.0,
        **overrides,
    )


def archived(settings: Settings, topic: str = t.LEDGER) -> pa.Table:
    """Every committed row of ``topic`` (the files the commit records list)."""
    root = settings.archive_root
    result = verify(root)
    assert not result.problems, result.problems
    paths = sorted(archived_files(root / settings.topic(topic)))
    return pa.concat_tables([pq.read_table(p) for p in paths]) if paths else pa.table({})


def rows_archived(settings: Settings) -> int:
    if not (settings.archive_root / "_commits").is_dir():
        return 0
    return verify(settings.archive_root).rows


def assert_every_message_once(settings: Settings, sent: int) -> None:
    table = archived(settings)
    positions = list(
        zip(table["ledger_partition"].to_pylist(), table["ledger_offset"].to_pylist(), strict=True)
    )
    assert len(positions) == sent and len(set(positions)) == sent
    assert Counter(p for p, _ in positions) == {p: o for p, o in end_offsets(settings).items() if o}
    totals: dict[tuple[str, str, str], tuple[Decimal, int]] = {}
    seen: set[str] = set()
    for row in table.to_pylist():
        if row["entry_id"] in seen:
            continue  # a copy the relay published twice: the ledger counts it once
        seen.add(row["entry_id"])
        key = (row["agreement_id"], row["period"], row["currency"])
        amount, n = totals.get(key, (Decimal("0.00"), 0))
        totals[key] = (amount + row["amount"], n + 1)
    assert totals == ledger_totals(settings)


def test_archive_is_complete_and_verify_finds_tampering(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = archive_settings(isolated_settings, tmp_path, deliver_batch_max=300)
    t.create_topics(settings)
    sent = publish(settings, postings(1200, seed=21), duplicate_every=9)
    events = [
        (t.MATCHES, "match", match("P1", "matched", 1)),
        (t.MATCHES, "document_match", document_match("M1", 1)),
        (t.EXCEPTIONS, "match_exception", exception("X1", "open", 1)),
    ]
    send(settings, events)
    metrics = Metrics()
    breaker = Breaker("archive", metrics, 3, 1.0)
    loop = DeliveryLoop(settings, ArchiveTarget(settings.archive_root), breaker, metrics)
    runner = LoopThread(lambda should_stop: loop.run(should_stop, lambda: None))
    wait_until(lambda: rows_archived(settings) == sent + 3, 120, "every message archived")
    runner.stop()
    assert_every_message_once(settings, sent)
    matches = archived(settings, t.MATCHES).to_pylist()
    assert sorted((m["schema"], m["subject_id"], m["state"]) for m in matches) == [
        ("document_match", "M1", "matched"),
        ("match", "P1", "matched"),
    ]
    (exc,) = archived(settings, t.EXCEPTIONS).to_pylist()
    assert (exc["subject_id"], exc["state"], exc["seq"]) == ("X1", "open", 1)
    assert json.loads(exc["record"])["differences"][0]["partner_value"] == "2"
    matches_dir = settings.archive_root / settings.topic(t.MATCHES)
    assert [p.name for p in matches_dir.iterdir()] == [f"date={AT.date().isoformat()}"]
    root = settings.archive_root
    topic_dir = root / settings.topic(t.LEDGER)
    assert len(list(topic_dir.glob("date=*"))) == DAYS

    passed = recon(settings, "archive", "verify", "--dir", str(root))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"{sent + 3} rows, all as committed" in passed.stderr

    files = sorted(archived_files(topic_dir))
    modified, missing = files[0], files[1]
    data = bytearray(modified.read_bytes())
    data[len(data) // 2] ^= 0x01
    modified.write_bytes(bytes(data))
    missing.unlink()
    stray = topic_dir / "date=2026-03-31" / "p000-o99999999999999999999.parquet"
    stray.write_bytes(files[2].read_bytes())
    failed = recon(settings, "archive", "verify", "--dir", str(root))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    out = failed.stderr
    assert f"{modified.relative_to(root)}: modified" in out
    assert f"{missing.relative_to(root)}: missing" in out
    assert f"{stray.relative_to(root)}: not in any commit record" in out
    assert "3 problem(s)" in out


def test_kill_9_mid_stream_leaves_no_half_file_and_every_message_once(
    isolated_settings: Settings, tmp_path: Path, deliverers: list[Deliverer]
) -> None:
    settings = archive_settings(isolated_settings, tmp_path, deliver_batch_max=20)
    t.create_topics(settings)
    sent = publish(settings, postings(8000, seed=22), duplicate_every=13)
    log = tmp_path / "deliver.log"
    root = settings.archive_root
    for kill in range(3):
        run = Deliverer(settings, "archive", log)
        deliverers.append(run)
        before = rows_archived(settings)
        wait_until(
            lambda b=before, r=run: rows_archived(settings) >= b + 300 or not r.alive(),  # type: ignore[misc]
            180,
            f"progress, kill {kill + 1}",
        )
        assert rows_archived(settings) < sent, "everything was archived before the kill"
        run.kill_9()
        for path in archived_files(root):  # visible files are whole, committed or not
            assert pq.read_metadata(path).num_rows > 0, path
    final = Deliverer(settings, "archive", log)
    deliverers.append(final)
    wait_until(lambda: rows_archived(settings) == sent or not final.alive(), 300, "every message")
    assert final.stop() == 0, f"recon deliver exit status: see {log}"
    assert_every_message_once(settings, sent)
