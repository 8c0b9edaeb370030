"""The rebate pipeline end to end on the real broker: ingest, `recon worker --drain`,
ledger totals against the reference, audit, DLQ."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from streams.ingest.producer import ingest_file
from streams.kafka.topics import create_topics
from streams.ops.audit import FileAudit, audit
from streams.ops.dlq import dlq_records
from streams.ops.ledger import read_ledger, write_export
from streams.settings import Settings
from streams.tools.batch import drain
from streams.tools.references import differences, expected_totals

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POS, PROMOTIONS = EXAMPLES / "pos.csv", EXAMPLES / "promotions.csv"
POS_HEADER = "txn_id,line_no,store_id,sku,vendor_id,qty,unit_price,currency,sold_at"


def by_file(rows: list[FileAudit]) -> dict[str, FileAudit]:
    return {r.source_file: r for r in rows}


def counts(row: FileAudit) -> tuple[int, int, int, int]:
    return row.read, row.applied, row.duplicate, row.dead_lettered


@pytest.mark.parametrize("chunk_records", [500, 1], ids=["chunks", "one-per-message"])
def test_sample_data_end_to_end(
    isolated_settings: Settings, tmp_path: Path, chunk_records: int
) -> None:
    settings = isolated_settings.with_overrides(ingest_chunk_records=chunk_records)
    create_topics(settings)
    ingest_file(settings, POS, "pos")
    ingest_file(settings, PROMOTIONS, "promotions")  # master data after the sales
    drain(settings)

    ledger = read_ledger(settings)
    assert differences(ledger, expected_totals([POS], [PROMOTIONS])) == []
    assert ledger.totals(), "the sample data must accrue something"
    files = by_file(audit(settings))
    assert counts(files["pos.csv"]) == (264, 258, 1, 5)
    assert counts(files["promotions.csv"]) == (7, 5, 0, 2)

    out = tmp_path / "entries.csv"
    assert write_export(ledger, out) == len(ledger.entries)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len({r["entry_id"] for r in rows}) == len(rows)
    # Which kinds appear depends on how the two topics interleave (a batch of sales decided
    # before the agreements gives re_rate only); the totals do not. Kinds by arrival order
    # are unit-tested on the engine.
    assert {r["kind"] for r in rows} <= {"accrual", "true_up", "reversal", "re_rate"}
    assert all(len(r["amount"].split(".")[1]) == 2 for r in rows)

    categories = sorted(r["category"] for r in dlq_records(settings))
    assert categories == ["invalid_value"] * 4 + ["parse_error"] + ["schema_violation"] * 2


def test_chunks_and_single_line_messages_mix_on_one_topic(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    """A till publishing each sale and a nightly file in chunks feed the same topic: each
    line counts once, whichever way it came (the second file repeats some of the first)."""
    lines = POS.read_text().splitlines()[1:]
    first, second = tmp_path / "tills.csv", tmp_path / "nightly.csv"
    first.write_text("\n".join([POS_HEADER, *lines[:150]]) + "\n")
    second.write_text("\n".join([POS_HEADER, *lines[100:]]) + "\n")
    create_topics(isolated_settings)
    ingest_file(isolated_settings.with_overrides(ingest_chunk_records=1), first, "pos")
    ingest_file(isolated_settings.with_overrides(ingest_chunk_records=7), second, "pos")
    ingest_file(isolated_settings, PROMOTIONS, "promotions")
    drain(isolated_settings)
    assert differences(read_ledger(isolated_settings), expected_totals([POS], [PROMOTIONS])) == []
    files = by_file(audit(isolated_settings))
    assert files["tills.csv"].reconciles and files["nightly.csv"].reconciles
    assert files["nightly.csv"].duplicate >= 50  # the 50 lines both files hold


def test_every_kind_of_bad_line_is_dead_lettered_with_its_bytes(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = isolated_settings
    create_topics(settings)
    good = b"T1,1,S1,SKU1,V1,3,2.50,USD,2026-03-05T14:22:10Z"
    bad = {
        b"T2,1,S1,SKU1,V1,3,2.50,USD": ("parse_error", None),
        b"T4,1,S1,SKU1,V1,3,2.5\xff,USD,2026-03-05T14:22:10Z": ("parse_error", None),
        b"T5,1,S1,SKU1,V1,3.5,2.50,USD,2026-03-05T14:22:10Z": ("schema_violation", "qty"),
        b"T6,1,S1,SKU1,V1,3,abc,USD,2026-03-05T14:22:10Z": ("schema_violation", "unit_price"),
        b"T7,1,S1,SKU1,V1,3,2.50,USD,yesterday": ("schema_violation", "sold_at"),
        b"T8,1,,SKU1,V1,3,2.50,USD,2026-03-05T14:22:10Z": ("schema_violation", "store_id"),
        b"T9,1,S1,SKU1,V1,3,-1,USD,2026-03-05T14:22:10Z": ("invalid_value", "unit_price"),
        b"T10,1,S1,SKU1,V1,3,2.50,DOLLARS,2026-03-05T14:22:10Z": ("invalid_value", "currency"),
        b"T11,1,S1,SKU1,V1,3,2.50,USD,2026-03-05T14:22:10": ("invalid_value", "sold_at"),
        b"T12,0,S1,SKU1,V1,3,2.50,USD,2026-03-05T14:22:10Z": ("invalid_value", "line_no"),
        b"T13,1,S1,SKU1,V1,3,1e3,USD,2026-03-05T14:22:10Z": ("schema_violation", "unit_price"),
        # An unclosed quote runs to the end of the file (RFC 4180), so it comes last.
        b'T3,1,S1,SKU1,V1,3,"2.50,USD,2026-03-05T14:22:10Z': ("parse_error", None),
    }
    pos = tmp_path / "bad_pos.csv"
    pos.write_bytes(b"\n".join([POS_HEADER.encode(), good, *bad]))
    extra = tmp_path / "extra_column.csv"
    extra.write_bytes(f"{POS_HEADER},note\n".encode() + good + b",hello\n")
    promotions = tmp_path / "bad_promotions.csv"
    promotions.write_text(
        "agreement_id,vendor_id,skus,start_date,end_date,basis,period,tier_method,tiers,currency\n"
        "A1,V1,SKU1,2026-01-01,2026-12-31,per_unit,month,retroactive,0:0.10|2:0.20,USD\n"
        "A2,V1,SKU1,2026-12-31,2026-01-01,per_unit,month,retroactive,0:0.10,USD\n"
        "A3,V1,SKU1,2026-01-01,2026-12-31,per_unit,week,retroactive,0:0.10,USD\n"
        "A4,V1,SKU1,2026-01-01,2026-12-31,per_unit,month,retroactive,0:0.1|0:0.2,USD\n"
        "A5,V1,,2026-01-01,2026-12-31,per_unit,month,retroactive,0:0.1,USD\n"
    )
    ingest_file(settings, promotions, "promotions")
    ingest_file(settings, pos, "pos")
    ingest_file(settings, extra, "pos")
    drain(settings)

    dead = {bytes(r["original"]): r for r in dlq_records(settings)}
    for raw, (category, field) in bad.items():
        rec = dead[raw]  # the original bytes, untouched
        assert (rec["category"], rec["field"]) == (category, field), rec["error"]
        assert rec["source_file"] == "bad_pos.csv" and rec["attempts"] == 1
        assert rec["error"].startswith(f"bad_pos.csv line {rec['source_line']}")
    assert dead[good + b",hello"]["category"] == "schema_violation"
    assert "unknown column(s) note" in dead[good + b",hello"]["error"]
    promo_errors = {
        r["source_line"]: r for r in dead.values() if r["record_format"] == "promotions-csv"
    }
    assert {line: r["category"] for line, r in promo_errors.items()} == {
        3: "invalid_value",
        4: "schema_violation",
        5: "invalid_value",
        6: "invalid_value",
    }

    files = by_file(audit(settings))
    assert counts(files["bad_pos.csv"]) == (len(bad) + 1, 1, 0, len(bad))
    assert counts(files["extra_column.csv"]) == (1, 0, 0, 1)
    assert counts(files["bad_promotions.csv"]) == (5, 1, 0, 4)
    assert differences(read_ledger(settings), expected_totals([pos], [promotions])) == []
    # the one good sale: 3 units at the 0.20 tier (threshold 2), retroactive
    assert read_ledger(settings).totals()[("A1", "2026-03", "USD")] == (Decimal("0.60"), 1)


def test_late_agreements_then_the_same_file_again(isolated_settings: Settings) -> None:
    settings = isolated_settings
    create_topics(settings)
    ingest_file(settings, POS, "pos")
    drain(settings)  # sales processed while no agreement exists yet
    assert read_ledger(settings).entries == {}

    ingest_file(settings, PROMOTIONS, "promotions")
    drain(settings)  # the late agreements re-rate the periods from the aggregates
    expected = expected_totals([POS], [PROMOTIONS])
    first = read_ledger(settings)
    assert differences(first, expected) == []
    assert {e["kind"] for e in first.entries.values()} == {"re_rate"}

    ingest_file(settings, POS, "pos")  # the same file again: every line is a duplicate
    ingest_file(settings, PROMOTIONS, "promotions")
    drain(settings)
    second = read_ledger(settings)
    assert second.entries.keys() == first.entries.keys()
    assert differences(second, expected) == []
    files = by_file(audit(settings))
    assert counts(files["pos.csv"]) == (528, 258, 1 + 264 - 5, 10)
    assert counts(files["promotions.csv"]) == (14, 5, 5, 4)
