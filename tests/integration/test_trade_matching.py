"""Trade matching end to end on the real broker: ingest, `recon worker --drain`, the exports,
audit and DLQ; then amendments across partitions, cancellations, duplicates and window
closing over three drains, the last one after deleting the local state (changelog recovery).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app as cli
from streams.domain.matching.rules import Tolerances
from streams.formats import avro
from streams.formats import headers as h
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.kafka.topics import create_topics
from streams.observability.tracing import parse
from streams.ops.audit import FileAudit, audit
from streams.ops.dlq import dlq_records
from streams.ops.matches import exception_events, live_pairs, match_events, open_exceptions
from streams.ops.replay import message_headers
from streams.ops.trace import trace
from streams.settings import Settings
from streams.tools.batch import drain
from streams.tools.references import expected_matches

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRADES, CONFIRMATIONS = EXAMPLES / "trades.csv", EXAMPLES / "confirmations.csv"
HEADER = (
    "{id},version,buyer,seller,product,delivery_start,delivery_end,quantity,price,currency,"
    "trade_time,status\n"
)
DELIVERY = "2026-04-01T00:00:00Z,2026-05-01T00:00:00Z"


def counts(rows: list[FileAudit], name: str) -> tuple[int, int, int, int]:
    (row,) = [r for r in rows if r.source_file == name]
    assert row.reconciles
    return row.read, row.applied, row.duplicate, row.dead_lettered


def pairs(settings: Settings) -> set[tuple[str, int, str, int, str]]:
    return {
        (p["trade_id"], p["trade_version"], p["confirm_id"], p["confirm_version"], p["match_type"])
        for p in live_pairs(match_events(settings))
    }


def exceptions(settings: Settings) -> set[tuple[str, str, int]]:
    return {
        (e["kind"], e["record_id"], e["version"])
        for e in open_exceptions(exception_events(settings))
    }


def export(settings: Settings, what: str, out: Path) -> list[dict[str, str]]:
    """Run `recon <what> export` in-process against the test's topics."""
    result = CliRunner().invoke(
        cli,
        [
            "--bootstrap-servers",
            settings.bootstrap,
            "--topic-prefix",
            settings.topic_prefix,
            "--app-id",
            settings.app_id,
            what,
            "export",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_sample_files_end_to_end(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings for the drained worker, the environment for the in-process CLI exports.
    # A batch run of whole files: stages 1-2 re-key by record id, so records reach stage 3
    # out of trade-time order, and with the default hour of lateness the watermark could
    # pass TR-1003 before CF-9003 arrives (an unmatched_trade opened, then resolved). A
    # day of lateness covers the files' span: only the end of input closes windows here.
    settings = isolated_settings.with_overrides(
        close_windows_at_end_of_input=True,
        match_own_parties="ACME-ENERGY",
        match_allowed_lateness_seconds=86_400,
    )
    monkeypatch.setenv("RECON_CLOSE_WINDOWS_AT_END_OF_INPUT", "true")
    monkeypatch.setenv("RECON_MATCH_OWN_PARTIES", "ACME-ENERGY")
    create_topics(settings)
    ingest_file(settings, TRADES, "trades")
    ingest_file(settings, CONFIRMATIONS, "confirmations")
    drain(settings)

    want = expected_matches([TRADES], [CONFIRMATIONS], Tolerances())
    rows = export(settings, "matches", tmp_path / "matches.csv")
    assert {
        (
            r["trade_id"],
            int(r["trade_version"]),
            r["confirm_id"],
            int(r["confirm_version"]),
            r["match_type"],
        )
        for r in rows
    } == want.pairs
    assert len(rows) == 7 and {r["match_type"] for r in rows} == {"exact", "tolerance"}

    found = export(settings, "exceptions", tmp_path / "exceptions.csv")
    assert {
        (r["kind"], r["record_type"], r["record_id"], int(r["version"])) for r in found
    } == want.exceptions
    by_id = {r["record_id"]: r for r in found}
    assert by_id["TR-1004"]["counterparty_id"] == "NORDPOWER"
    assert by_id["TR-1003"]["details"] == (
        "nearest confirmation CF-9003 v1 is outside tolerance: price 96 vs 96.75"
    )
    assert "quantity 100 vs 110" in by_id["CF-9002"]["details"]  # duplicate_conflict

    rows_audit = audit(settings)
    assert counts(rows_audit, "trades.csv") == (19, 14, 1, 4)
    assert counts(rows_audit, "confirmations.csv") == (14, 12, 1, 1)
    dead = sorted(
        (r["source_file"], r["category"], r["field"] or "") for r in dlq_records(settings)
    )
    assert dead == [
        ("confirmations.csv", "invalid_value", "currency"),
        ("trades.csv", "invalid_value", "delivery_end"),
        ("trades.csv", "parse_error", ""),
        ("trades.csv", "schema_violation", "quantity"),
        ("trades.csv", "schema_violation", "status"),
    ]
    check_tracing(settings)


def raw_records(settings: Settings) -> dict[str, tuple[str, str]]:
    """correlation id -> (record id, ingest traceparent) of every raw trade and confirmation."""
    out: dict[str, tuple[str, str]] = {}
    for logical in (t.RAW_TRADES, t.RAW_CONFIRMATIONS):
        for msg in read_topic(settings, settings.topic(logical)):
            headers = h.to_dict(message_headers(msg))
            record_id = (msg.value() or b"").split(b",", 1)[0].decode(errors="replace")
            out[headers[h.CORRELATION_ID]] = (record_id, headers[h.TRACEPARENT])
    return out


def check_tracing(settings: Settings) -> None:
    """Issue (Observability): each match names both records in its correlation-id headers
    and continues the trade's trace; `recon trace` shows raw -> outcome -> match/exception."""
    raw = raw_records(settings)
    matched = []
    for msg in read_topic(settings, settings.topic(t.MATCHES)):
        value = avro.decode("match", msg.value() or b"")
        headers = message_headers(msg)
        cids = h.all_values(headers, h.CORRELATION_ID)
        assert [raw[c][0] for c in cids] == [value["trade_id"], value["confirm_id"]]
        child, trade = parse(h.to_dict(headers).get(h.TRACEPARENT)), parse(raw[cids[0]][1])
        assert child is not None and trade is not None
        assert child.trace_id == trade.trace_id and child.span_id != trade.span_id
        if value["event"] == "matched":
            matched.append((value, cids, msg.topic(), msg.partition(), msg.offset()))
    assert len(matched) >= 7

    value, (trade_cid, confirm_cid), *position = matched[0]
    hops = trace(settings, trade_cid)
    stages = [hop.stage for hop in hops]
    assert stages[0] == "raw" and hops[0].topic == settings.topic(t.RAW_TRADES)
    assert "outcome" in stages and stages.index("outcome") < stages.index("match")
    # a pair may have been re-paired, or re-relayed: find this message among the hops
    (match_hop,) = [
        hop for hop in hops if [hop.topic, hop.partition, hop.offset] == position
    ]
    assert match_hop.stage == "match" and match_hop.detail.startswith("matched ")
    assert f"trade={value['trade_id']} v1 confirm={value['confirm_id']}" in match_hop.detail
    ours = [hop for hop in hops if hop.stage in ("raw", "outcome", "match")]  # trade leads
    assert len({p.trace_id for hop in ours if (p := parse(hop.traceparent))}) == 1
    # the same match message is on the confirmation's path too (its second header)
    other = trace(settings, confirm_cid)
    assert [(x.stage, x.detail) for x in other if [x.topic, x.partition, x.offset] == position] == [
        ("match", match_hop.detail)
    ]
    assert other[0].topic == settings.topic(t.RAW_CONFIRMATIONS)

    (mismatched,) = [cid for cid, (rid, _) in raw.items() if rid == "TR-1003"]
    details = [hop.detail for hop in trace(settings, mismatched) if hop.stage == "exception"]
    assert sorted(details) == [  # its own, and the partner's that names it second
        "open mismatch confirmation=CF-9003 v1 partner=trade:TR-1003",
        "open mismatch trade=TR-1003 v1 partner=confirmation:CF-9003",
    ]


def write(path: Path, side: str, rows: list[str]) -> Path:
    path.write_text(HEADER.format(id="trade_id" if side == "t" else "confirm_id") + "\n".join(rows))
    return path


def row(rid: str, v: int, product: str, qty: str, minute: str, status: str = "active") -> str:
    return (
        f"{rid},{v},ACME,NORD,{product},{DELIVERY},{qty},50.00,EUR,2026-03-02T{minute}:00Z,{status}"
    )


def test_amendments_restart_and_recovery_from_changelogs(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = isolated_settings.with_overrides(match_allowed_lateness_seconds=0)
    create_topics(settings)

    # 1. No end-of-input close: only the event-time watermark closes windows.
    t1 = write(
        tmp_path / "t1.csv",
        "t",
        [
            row("T1", 1, "BASE", "10", "09:00"),  # exact with C1
            row("T3", 1, "PEAK", "7", "09:30"),  # exact with C3, cancelled later
            row("T5", 1, "OFF", "4", "09:00"),  # loses to T6; the watermark closes it
            row("T6", 1, "OFF", "4", "12:00"),
            row("T7", 1, "WEEK", "2", "12:00"),  # alone, window still open after drain 1
        ],
    )
    c1 = write(
        tmp_path / "c1.csv",
        "c",
        [
            row("C1", 1, "BASE", "10", "09:00"),
            row("C3", 1, "PEAK", "7", "09:30"),
            row("C5", 1, "OFF", "4", "12:00"),
        ],
    )
    ingest_file(settings, t1, "trades")
    ingest_file(settings, c1, "confirmations")
    drain(settings)
    assert pairs(settings) == {
        ("T1", 1, "C1", 1, "exact"),
        ("T3", 1, "C3", 1, "exact"),
        ("T6", 1, "C5", 1, "exact"),
    }
    assert exceptions(settings) == {("unmatched_trade", "T5", 1)}

    # 2. Restart with local state: an amendment moves T1 to another group (and partition),
    # T3 is cancelled, T1 v1 arrives again (duplicate); end of input closes the windows.
    settings = settings.with_overrides(close_windows_at_end_of_input=True)
    t2 = write(
        tmp_path / "t2.csv",
        "t",
        [
            row("T1", 2, "MONTH", "10", "09:00"),
            row("T3", 2, "PEAK", "7", "09:30", "cancelled"),
            row("T1", 1, "BASE", "10", "09:00"),
        ],
    )
    c2 = write(tmp_path / "c2.csv", "c", [row("C9", 1, "MONTH", "10", "09:01")])
    ingest_file(settings, t2, "trades")
    ingest_file(settings, c2, "confirmations")
    drain(settings)
    assert pairs(settings) == {("T1", 2, "C9", 1, "tolerance"), ("T6", 1, "C5", 1, "exact")}
    broken = {
        (e["trade_id"], e["trade_version"], e["confirm_id"], e["reason"])
        for e in match_events(settings)
        if e["event"] == "unmatched"
    }
    assert broken == {("T1", 1, "C1", "amended"), ("T3", 1, "C3", "cancelled")}
    assert exceptions(settings) == {
        ("unmatched_trade", "T5", 1),
        ("unmatched_trade", "T7", 1),
        ("unmatched_confirmation", "C1", 1),
        ("unmatched_confirmation", "C3", 1),
    }

    # 3. Local state deleted: the tables recover from their changelogs. A late partner for
    # C1, a cancellation of C3, and the first trades file again (all duplicates).
    shutil.rmtree(settings.state_dir)
    t3 = write(tmp_path / "t3.csv", "t", [row("T8", 1, "BASE", "10", "09:02")])
    c3 = write(tmp_path / "c3.csv", "c", [row("C3", 2, "PEAK", "7", "09:30", "cancelled")])
    ingest_file(settings, t3, "trades")
    ingest_file(settings, c3, "confirmations")
    ingest_file(settings, t1, "trades")
    drain(settings)
    want = expected_matches([t1, t2, t3], [c1, c2, c3], Tolerances())
    assert (
        pairs(settings)
        == want.pairs
        == {
            ("T1", 2, "C9", 1, "tolerance"),
            ("T6", 1, "C5", 1, "exact"),
            ("T8", 1, "C1", 1, "tolerance"),
        }
    )
    assert (
        exceptions(settings)
        == {(k, i, v) for k, _, i, v in want.exceptions}
        == {
            ("unmatched_trade", "T5", 1),
            ("unmatched_trade", "T7", 1),
        }
    )
    audit_rows = audit(settings)
    assert counts(audit_rows, "t1.csv") == (10, 5, 5, 0)
    assert counts(audit_rows, "t2.csv") == (3, 2, 1, 0)
    # every event id carries one content, however often it was relayed
    seen: dict[str, dict[str, object]] = {}
    for event in match_events(settings) + exception_events(settings):
        assert seen.setdefault(event["event_id"], event) == event
