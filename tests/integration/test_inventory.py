"""Lab inventory manifests end to end on the real broker: a CSV and an Excel manifest, the
CSV again, and a file with schema drift (an extra column); the worker drained; then the
inventory equals the plain reference, quarantine holds exactly the bad rows, the audit
reconciles, the chunk hashes are reproducible from the files, and a corrected row
resubmitted from quarantine flows as a new record linked to the original."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from streams.cli.main import app as cli
from streams.delivery.breaker import Breaker
from streams.delivery.inventory_api import InventoryApiTarget
from streams.delivery.loop import DeliveryLoop, delivery_group
from streams.domain.inventory.reference import final_inventory
from streams.domain.inventory.rows import COLUMNS
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.csv_source import CsvRecords
from streams.formats.xlsx_source import XlsxRecords
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import group_lag, read_topic
from streams.kafka.topics import create_topics
from streams.observability.metrics import Metrics
from streams.ops.audit import audit
from streams.ops.dlq import dlq_records
from streams.ops.inventory import current_inventory, file_chunk_hashes, normalised
from streams.ops.quarantine import ResubmitError, fields_of, quarantined, resubmit
from streams.ops.redrive import redrive
from streams.ops.replay import message_headers
from streams.settings import Settings
from streams.tools.batch import drain
from streams.tools.demo_inventory import MANIFESTS, ingest_manifests, inventory_report
from tests.integration.delivery.fault_server import FaultyErp
from tests.integration.delivery.ledger_feed import LoopThread, wait_until

pytestmark = pytest.mark.integration

(MARCH, _), (APRIL, _) = MANIFESTS
AT = {path.name: at for path, at in MANIFESTS} | {"drift.csv": datetime(2026, 5, 1, tzinfo=UTC)}


def micros(at: datetime) -> int:
    return round(at.timestamp() * 1_000_000)


def rows_of(path: Path) -> list[tuple[int, object, str]]:
    """(line, valid row or None, raw text) of every data row of a manifest file."""
    with XlsxRecords(path) if path.suffix == ".xlsx" else CsvRecords(path) as source:
        cols = source.columns
        return [(r.line, normalised(cols, r.raw), r.raw.decode()) for r in source]


def test_manifests_end_to_end(isolated_settings: Settings, tmp_path: Path) -> None:
    settings = isolated_settings.with_overrides(inventory_chunk_rows=4)
    drift = tmp_path / "drift.csv"
    drift.write_text(
        ",".join([*COLUMNS, "notes"]) + "\n"
        "CHEM-0001,NIH-R01GM123456,reagent,99,CHEM-214-S3,2025-11-04,recount\n"
        "EQ-0200,NSF-CHE2201,balance,1,CHEM-118-A1,2026-02-02,new\n"
    )
    create_topics(settings)
    files = (MARCH, APRIL, MARCH, drift)
    results = ingest_manifests(settings)  # the demo's: March's CSV, April's workbook
    results += [ingest_file(settings, f, "inventory", manifest_at=AT[f.name]) for f in files[2:]]
    assert [r.record_format for r in results[:2]] == ["inventory-csv", "inventory-xlsx"]
    (warning,) = results[3].warnings
    assert "unknown column(s) notes" in warning and "quarantined" in warning
    started = time.perf_counter()
    drain(settings)
    drained = time.perf_counter() - started

    # the inventory: the latest valid version of each asset, whatever came twice
    versions = [
        (row, micros(AT[f.name])) for f in (MARCH, APRIL) for _, row, _ in rows_of(f) if row
    ]
    want = final_inventory(versions)  # type: ignore[arg-type]
    got = current_inventory(settings)
    assert {k: {n: e[n] for n in COLUMNS} | {"acquisition_date": e["acquisition_date"]
            .isoformat()} for k, e in got.items()} == want  # fmt: skip
    assert got["CHEM-0001:NIH-R01GM123456"]["quantity"] == 18  # April's recount, not drift's
    assert got["CHEM-0001:NIH-R01GM123456"]["kind"] == "updated"

    report = Console(file=io.StringIO(), width=200)
    assert inventory_report(settings, report) == []  # what `make demo` checks and prints
    printed = report.file.getvalue()  # type: ignore[attr-defined]
    assert "Lab inventory" in printed and "Quarantine" in printed and "EQ-0104" in printed

    # quarantine: exactly the bad rows, each time they were read
    bad = [(f.name, line) for f in files for line, row, _ in rows_of(f) if row is None]
    held = quarantined(settings)
    assert sorted((r["source_file"], r["source_line"]) for r in held) == sorted(bad)
    assert {r["category"] for r in held} == {"schema_violation"}
    by_line = {(r["source_file"], r["source_line"]): r for r in held}
    assert by_line[(MARCH.name, 9)]["field"] == "grant_code"
    assert by_line[(MARCH.name, 11)]["field"] == "location"
    assert "field acquisition_date='01/15/2026'" in by_line[(MARCH.name, 11)]["error"]
    assert by_line[(APRIL.name, 8)]["field"] == "location"
    assert "unknown column(s) notes" in by_line[("drift.csv", 2)]["error"]

    # every count adds up; the audit's chunk hashes come back from the files alone
    for row in audit(settings):
        assert row.reconciles, row
    chunks = audit_via_cli(settings, tmp_path / "audit.jsonl")
    assert all(c["pending"] == 0 and c["processed_at"] is not None for c in chunks)
    published = [
        avro.decode("inventory_audit", m.value() or b"")
        for m in read_topic(settings, settings.topic(t.INVENTORY_AUDIT))
    ]
    assert sorted(p["chunk_sha256"] for p in published) == sorted(c["chunk_sha256"] for c in chunks)
    for f, result in zip(files, results, strict=True):
        mine = [c for c in chunks if c["run_id"] == result.run_id]
        assert [c["chunk_sha256"] for c in mine] == [c.sha256 for c in file_chunk_hashes(f, 4)], (
            f.name
        )
        assert sum(c["committed"] + c["duplicate"] + c["quarantined"] for c in mine) == (
            result.rows_read
        )
    second_march = [c for c in chunks if c["run_id"] == results[2].run_id]
    assert sum(c["committed"] for c in second_march) == 0  # all duplicates or quarantined

    deliver_to_api(settings, want)

    # a corrected row resubmitted from quarantine: a new record linked to the original,
    # counted as one more row read of its file (the worker's decision of such a row is
    # tests/unit/runtime/pipelines/test_inventory.py; a second drain costs ~30 s here)
    original = by_line[(APRIL.name, 8)]
    assert fields_of(original)["location"] == "BIO-3O3"
    done = resubmit(settings, original["dlq_id"], {"location": "BIO-303-B3"})
    assert done.correlation_id == f"resubmit-{done.run_id}:{original['dlq_id']}"
    (msg,) = [
        m
        for m in read_topic(settings, settings.topic(t.RAW_INVENTORY))
        if (m.value() or b"").startswith(b"EQ-0105,")
        and h.to_dict(message_headers(m)).get(h.RESUBMITS) == original["dlq_id"]
    ]
    headers = h.to_dict(message_headers(msg))
    assert msg.value() == b"EQ-0105,NSF-DBI1234,freezer,1,BIO-303-B3,2026-03-11"
    assert headers[h.CORRELATION_ID] == done.correlation_id
    assert headers[h.COLUMNS] == ",".join(COLUMNS) and headers[h.LINE] == "8"
    assert msg.key() == b"EQ-0105:NSF-DBI1234" and msg.partition() == done.partition
    (april,) = [r for r in audit(settings) if r.source_file == APRIL.name]
    assert april.read == 8 and april.decided == 7  # the resubmitted row is pending
    with pytest.raises(ResubmitError, match="already resubmitted"):
        resubmit(settings, original["dlq_id"], {"location": "BIO-303-B3"})
    print(f"drain {drained:.1f} s")


def audit_via_cli(settings: Settings, out: Path) -> list[dict[str, Any]]:
    """`recon inventory audit --out FILE`: the JSON Lines records (also published)."""
    args = ["--bootstrap-servers", settings.bootstrap, "--topic-prefix", settings.topic_prefix]
    env = {"RECON_INVENTORY_CHUNK_ROWS": str(settings.inventory_chunk_rows)}
    result = CliRunner().invoke(cli, [*args, "inventory", "audit", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def deliver_to_api(settings: Settings, want: dict[str, dict[str, object]]) -> None:
    """`recon deliver inventory` through 5xx bursts, a reset and a lost answer: the chunk
    whose retries run out is dead-lettered transient_failure and redriven; the API then
    holds exactly the reference inventory, each event once."""
    api = FaultyErp(["503", "503", "503", "reset", "lost"]).start()
    settings = settings.with_overrides(
        inventory_api_url=api.url,
        erp_batch_size=3,
        erp_retries=2,
        erp_timeout_seconds=0.5,
        erp_backoff_base_seconds=0.01,
        erp_backoff_max_seconds=0.05,
        erp_jitter_seconds=0.01,
        deliver_poll_seconds=0.1,
        breaker_fail_max=10,
        session_timeout_seconds=6.0,
    )
    metrics = Metrics()
    breaker = Breaker("inventory", metrics, 10, 0.5)
    loop = DeliveryLoop(settings, InventoryApiTarget(settings, metrics, breaker), breaker, metrics)
    thread = LoopThread(lambda should_stop: loop.run(should_stop, lambda: None))
    group, ledger = delivery_group(settings, "inventory"), settings.topic(t.INVENTORY_LEDGER)

    def caught_up() -> bool:
        thread.check_alive()
        return all(lag.behind == 0 for lag in group_lag(settings, group, [ledger]))

    try:
        wait_until(caught_up, 60, "the inventory API group to catch up")
        failed = list(dlq_records(settings, "transient_failure"))
        assert len(failed) == 3 and all("3 attempts failed" in r["error"] for r in failed)
        assert {r["stage"] for r in failed} == {"sink"}
        assert redrive(settings, category="transient_failure").files == []
        events = {avro.decode("inventory_event", bytes(r["original"]))["event_id"] for r in failed}
        wait_until(lambda: events <= set(api.accepted), 60, "the redriven events")
        thread.stop()
    finally:
        api.stop()
    assert set(api.accepted.values()) == {1}
    held: dict[str, dict[str, object]] = {}
    for line in sorted(api.lines.values(), key=lambda x: (x["manifest_at"], x["content_hash"])):
        held[line["asset_key"]] = {c: line[c] for c in COLUMNS}
    assert held == want
    assert api.answers()["409"] >= 1  # the lost answer's retry: already committed
