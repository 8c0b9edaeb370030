"""Correlation ids and traceparents travel with the records through both matching stages
and into the event bodies, without changing the pairing; old messages still read."""

from __future__ import annotations

import pytest

from streams.domain.matching import messages as m
from streams.domain.matching.engine import MatchConfig, MatchEngine
from streams.domain.matching.records import RecordBook
from streams.domain.matching.rules import Tolerances
from streams.domain.models.trades import Side, Status
from tests.unit.domain.matching.harness import Both, ChangelogState, record, relayed, tp

pytestmark = pytest.mark.unit

CONFIG = MatchConfig(Tolerances())


def test_upsert_and_retract_carry_the_trace_and_old_json_still_reads() -> None:
    up = m.Upsert(Side.TRADE, "T1", 1, "g", {}, "1", "2", 3, "run:1", tp(1))
    assert m.decode(m.encode(up)) == up
    back = m.Retract(up.side, "T1", "g", 2, "amended", "run:2", tp(2))
    assert m.decode(m.encode(back)) == back
    old = {k: v for k, v in m.to_json(up).items() if k not in ("c", "tp")}
    restored = m.from_json(old)
    assert isinstance(restored, m.Upsert)
    assert (restored.correlation_id, restored.traceparent, restored.version) == ("", "", 1)
    old_retract = {k: v for k, v in m.to_json(back).items() if k != "tp"}
    assert m.from_json(old_retract) == m.Retract(up.side, "T1", "g", 2, "amended", "run:2")


def test_a_pair_names_both_records_even_after_it_breaks() -> None:
    run = Both()
    run.feed(record("t", "T1"))
    run.feed(record("c", "C1"))
    run.feed(record("t", "T1", 2, status=Status.CANCELLED))
    matched, unmatched = run.events(m.MATCHES)
    assert matched["event"] == "matched" and unmatched["event"] == "unmatched"
    # the trade first (its trace is continued), whatever arrived first
    assert matched["refs"] == [["T1:v1", tp(1)], ["C1:v1", tp(2)]]
    assert unmatched["refs"] == matched["refs"]  # T1 left the row; the pair still names it
    assert "t|T1" not in run.groups.get("g:" + matched["group_key"])["recs"]  # type: ignore[index]


def test_exceptions_name_the_record_then_its_mismatch_partner() -> None:
    run = Both()
    run.feed(record("t", "T1"))
    run.feed(record("c", "C1", price="51"))
    run.engine.apply(m.Tick(10**12, final=True), 0, 10**12)
    opened = {e["record_id"]: e for e in run.events(m.EXCEPTIONS)}
    assert opened["T1"]["refs"] == [["T1:v1", tp(1)], ["C1:v1", tp(2)]]
    assert opened["C1"]["refs"] == [["C1:v1", tp(2)], ["T1:v1", tp(1)]]
    run.feed(record("c", "C1", 2))  # amended into a match: both resolved, still named
    resolved = [e for e in run.events(m.EXCEPTIONS) if e["status"] == "resolved"]
    assert {e["record_id"]: e["refs"] for e in resolved} == {
        "T1": [["T1:v1", tp(1)], ["C1:v1", tp(2)]],
        "C1": [["C1:v1", tp(2)], ["T1:v1", tp(1)]],
    }


def test_a_duplicate_conflict_names_the_copy_and_the_record_in_force() -> None:
    book = RecordBook(ChangelogState())
    book.apply(record("t", "T1"), "a:1", 0, tp(1))
    book.apply(record("t", "T1", qty="11"), "b:1", 0, tp(2))
    (exc,) = [e["doc"] for e in relayed(book.state.log, "r:") if e["to"] == m.EXCEPTIONS]  # type: ignore[attr-defined]
    assert exc["refs"] == [["b:1", tp(2)], ["a:1", ""]]


def test_group_rows_from_before_trace_propagation_still_pair() -> None:
    """Messages without ids (written by an older version) pair as before; their events
    name no records rather than failing."""
    engine = MatchEngine(ChangelogState(), CONFIG)
    book = RecordBook(ChangelogState())
    for n, rec in enumerate([record("t", "T1"), record("c", "C1")]):
        book.apply(rec, f"run:{n}", 0)
    for entry in [e for e in relayed(book.state.log, "r:") if e["to"] == m.INPUT]:  # type: ignore[attr-defined]
        doc = {k: v for k, v in entry["doc"].items() if k not in ("c", "tp")}
        engine.apply(m.from_json(doc), 0, 1_000_000)
    (matched,) = [
        e["doc"] for e in relayed(engine.state.log, "g:") if e["to"] == m.MATCHES  # type: ignore[attr-defined]
    ]
    assert (matched["trade_id"], matched["confirm_id"]) == ("T1", "C1")
    assert matched["refs"] == [["", ""], ["", ""]]
