"""The dedupe horizon on the real broker: a sale beyond it is dead-lettered (invalid_value)
and the audit still reconciles; the end-of-input purge deletes the marks of old sales
through the changelog (tombstones), after which a re-ingest of such a sale is refused, not
applied a second time. Dates are relative to today: the horizon runs on the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from streams.domain.accrual.keys import dedupe_key
from streams.domain.models.pos import SaleLine
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.kafka.topics import create_topics
from streams.ops.audit import FileAudit, audit
from streams.ops.dlq import dlq_records
from streams.ops.ledger import read_ledger
from streams.settings import Settings
from streams.tools.batch import drain
from streams.tools.references import differences, expected_totals

pytestmark = pytest.mark.integration

POS_HEADER = "txn_id,line_no,store_id,sku,vendor_id,qty,unit_price,currency,sold_at\n"
PROMO_HEADER = (
    "agreement_id,vendor_id,skus,start_date,end_date,basis,period,tier_method,tiers,currency\n"
)
HORIZON = 30  # purge_before = today - 30 - 7 days


def sale_row(txn: str, qty: int, day: date) -> str:
    return f"{txn},1,S1,SKU1,V1,{qty},2.00,USD,{day.isoformat()}T12:00:00Z\n"


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "".join(rows))
    return path


def counts(rows: list[FileAudit], name: str) -> tuple[int, int, int, int]:
    (row,) = [r for r in rows if r.source_file == name]
    return row.read, row.applied, row.duplicate, row.dead_lettered


def mark_tombstones(settings: Settings) -> list[bytes]:
    changelog = t.changelog_topic(settings, t.STATE_TABLE)
    return [
        msg.key() or b""
        for msg in read_topic(settings, changelog)
        if msg.value() is None and (msg.key() or b"").startswith(b"d:")
    ]


def test_horizon_refuses_old_sales_and_purges_their_marks(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    old_day, recent_day = today - timedelta(days=60), today - timedelta(days=5)
    sales = write(
        tmp_path / "sales.csv",
        POS_HEADER,
        [sale_row("T1", 10, old_day), sale_row("T2", 5, recent_day)],
    )
    promotions = write(
        tmp_path / "promotions.csv",
        PROMO_HEADER,
        [
            f"A1,V1,SKU1,{(today - timedelta(days=500)).isoformat()},"
            f"{(today + timedelta(days=30)).isoformat()},per_unit,agreement,retroactive,"
            "0:0.10,USD\n"
        ],
    )
    # 1. The default horizon (800 days): both sales apply, and their marks hold their day.
    default = Settings.model_fields["dedupe_horizon_days"].default
    assert default == 800
    settings = isolated_settings.with_overrides(dedupe_horizon_days=default)
    create_topics(settings)
    ingest_file(settings, promotions, "promotions")
    ingest_file(settings, sales, "pos")
    drain(settings)
    assert counts(audit(settings), "sales.csv") == (2, 2, 0, 0)
    assert differences(read_ledger(settings), expected_totals([sales], [promotions])) == []
    assert mark_tombstones(settings) == []  # nothing is beyond 800 days

    # 2. Down to 30 days: a fresh sale dated 400 days ago is dead-lettered, one from
    # yesterday applies; the end-of-input purge deletes T1's mark (60 days old).
    short = settings.with_overrides(dedupe_horizon_days=HORIZON)
    ancient = today - timedelta(days=400)
    late = write(
        tmp_path / "late.csv",
        POS_HEADER,
        [sale_row("T9", 7, ancient), sale_row("T10", 3, today - timedelta(days=1))],
    )
    ingest_file(short, late, "pos")
    drain(short)

    (dead,) = dlq_records(short)
    assert (dead["category"], dead["stage"], dead["field"]) == (
        "invalid_value",
        "validate",
        "sold_at",
    )
    assert dead["source_file"] == "late.csv" and dead["source_line"] == 2
    assert dead["error"].startswith("late.csv line 2 (sale T9 line 1, vendor V1): field sold_at=")
    assert f"'{ancient.isoformat()}T12:00:00+00:00'" in dead["error"]
    assert f"older than the dedupe horizon of {HORIZON} days" in dead["error"]
    rows = audit(short)
    assert counts(rows, "late.csv") == (2, 1, 0, 1)
    assert all(r.reconciles for r in rows)
    applied_only = write(
        tmp_path / "late_applied.csv", POS_HEADER, [sale_row("T10", 3, today - timedelta(days=1))]
    )
    expected = expected_totals([sales, applied_only], [promotions])
    assert expected == {("A1", "agreement", "USD"): Decimal("1.80")}  # (10 + 5 + 3) x 0.10
    assert differences(read_ledger(short), expected) == []

    t1 = SaleLine(
        txn_id="T1",
        line_no=1,
        store_id="S1",
        sku="SKU1",
        vendor_id="V1",
        qty=10,
        unit_price=Decimal("2.00"),
        currency="USD",
        sold_at=datetime(old_day.year, old_day.month, old_day.day, 12, tzinfo=UTC),
    )
    assert mark_tombstones(short) == [dedupe_key(t1.idempotency_key).encode()]

    # 3. The first file again: T1's mark is gone, so its copy is refused, never counted
    # twice; T2's mark is still there, so its copy is a duplicate. The ledger is unchanged.
    ingest_file(short, sales, "pos")
    drain(short)
    rows = audit(short)
    assert counts(rows, "sales.csv") == (4, 2, 1, 1)
    assert all(r.reconciles for r in rows)
    refused = [r for r in dlq_records(short) if r["source_file"] == "sales.csv"]
    assert [(r["category"], r["field"], r["source_line"]) for r in refused] == [
        ("invalid_value", "sold_at", 2)
    ]
    assert differences(read_ledger(short), expected) == []
