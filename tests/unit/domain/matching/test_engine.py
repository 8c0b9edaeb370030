"""Both engines on hand-written scenarios: the events downstream consumers see."""

from __future__ import annotations

from typing import Any

import pytest

from streams.domain.matching import messages as m
from streams.domain.matching.engine import MatchConfig, MatchEngine
from streams.domain.matching.records import RecordBook
from streams.domain.matching.reference import expected
from streams.domain.matching.rules import Tolerances
from streams.domain.models.outcome import Outcome
from streams.domain.models.trades import MatchRecord, Status
from tests.unit.domain.matching.harness import (
    ChangelogState,
    Stage3Input,
    in_order,
    record,
    relayed,
    run_all,
    run_groups,
)

pytestmark = pytest.mark.unit

CONFIG = MatchConfig(Tolerances())


def arrivals(*records: MatchRecord) -> list[tuple[MatchRecord, str]]:
    return [(r, f"run:{i}") for i, r in enumerate(records)]


def test_every_outcome_of_a_small_book() -> None:
    recs = [
        record("t", "T1"),  # exact with C1
        record("c", "C1"),
        record("t", "T2", product="PEAK"),  # tolerance with C2
        record("c", "C2", product="PEAK", price="50.01", minute=3),
        record("t", "T3", product="OFF"),  # mismatch with C3
        record("c", "C3", product="OFF", price="51"),
        record("t", "T4", product="WEEK"),  # unmatched trade
        record("c", "C5", product="MONTH"),  # unmatched confirmation
    ]
    got, _, _ = run_all(arrivals(*recs), CONFIG)
    assert got == expected(recs, CONFIG.tolerances)
    assert got.pairs == {("T1", 1, "C1", 1, "exact"), ("T2", 1, "C2", 1, "tolerance")}
    assert got.exceptions == {
        ("mismatch", "trade", "T3", 1),
        ("mismatch", "confirmation", "C3", 1),
        ("unmatched_trade", "trade", "T4", 1),
        ("unmatched_confirmation", "confirmation", "C5", 1),
    }


def test_duplicates_conflicts_and_stale_versions_at_the_record_stage() -> None:
    book = RecordBook(ChangelogState())
    v1, v2 = record("t", "T1"), record("t", "T1", 2, qty="12")
    assert book.apply(v2, "a:1", 0) is Outcome.APPLIED
    assert book.apply(v2, "a:1", 0) is Outcome.APPLIED  # the owner, reprocessed
    assert book.apply(v2, "b:1", 0) is Outcome.DUPLICATE  # same record, another file
    assert book.apply(v1, "a:2", 0) is Outcome.APPLIED  # late older version: no effect
    conflict = record("t", "T1", 2, qty="13")
    assert book.apply(conflict, "c:1", 0) is Outcome.DUPLICATE
    log = book.state.log  # type: ignore[attr-defined]
    inputs = [e for e in relayed(log, "r:") if e["to"] == m.INPUT]
    assert [(e["doc"]["op"], e["doc"]["v"]) for e in inputs] == [("upsert", 2)]
    (exc,) = [e["doc"] for e in relayed(log, "r:") if e["to"] == m.EXCEPTIONS]
    assert (exc["kind"], exc["status"], exc["version"]) == ("duplicate_conflict", "open", 2)
    assert exc["differences"] == [{"field": "quantity", "value": "12", "partner_value": "13"}]
    book.apply(record("t", "T1", 3), "a:3", 0)  # a newer version settles the conflict
    last = [e["doc"] for e in relayed(log, "r:") if e["to"] == m.EXCEPTIONS][-1]
    assert (last["exception_id"], last["status"]) == (exc["exception_id"], "resolved")


def match_events(log: Any) -> list[tuple[str, str, int, str, int, str | None]]:
    return [
        (
            d["event"],
            d["trade_id"],
            d["trade_version"],
            d["confirm_id"],
            d["confirm_version"],
            d["reason"],
        )
        for e in relayed(log, "g:")
        if e["to"] == m.MATCHES
        for d in [e["doc"]]
    ]


def stream(*batches: list[MatchRecord]) -> tuple[ChangelogState, ChangelogState]:
    """Feed batches one after the other through both stages (as a live feed would)."""
    records, groups = ChangelogState(), ChangelogState()
    book, engine = RecordBook(records), MatchEngine(groups, CONFIG)
    done, n = 0, 0
    for batch in batches:
        for rec in batch:
            n += 1
            book.apply(rec, f"run:{n}", 0)
        entries = relayed(records.log, "r:")
        stage3 = Stage3Input()
        stage3.publish(entries[done:])
        done = len(entries)
        run_groups(engine, in_order(stage3.queues))
    return records, groups


def test_amendment_breaks_and_reforms_a_match() -> None:
    _, groups = stream(
        [record("t", "T1"), record("c", "C1")],
        [record("t", "T1", 2, qty="12")],
        [record("c", "C1", 2, qty="12")],
    )
    assert match_events(groups.log) == [
        ("matched", "T1", 1, "C1", 1, None),
        ("unmatched", "T1", 1, "C1", 1, "amended"),
        ("matched", "T1", 2, "C1", 2, None),
    ]


def test_amendment_of_a_key_field_unmatches_in_the_old_group() -> None:
    _, groups = stream(
        [record("t", "T1"), record("c", "C1"), record("c", "C2", product="PEAK")],
        [record("t", "T1", 2, product="PEAK")],
    )
    assert match_events(groups.log) == [
        ("matched", "T1", 1, "C1", 1, None),
        ("unmatched", "T1", 1, "C1", 1, "amended"),
        ("matched", "T1", 2, "C2", 1, None),
    ]


def test_cancellation_releases_the_partner_to_the_next_candidate() -> None:
    _, groups = stream(
        [record("t", "T1"), record("t", "T2"), record("c", "C1")],  # T1 wins: lowest id
        [record("t", "T1", 2, status=Status.CANCELLED)],
    )
    assert match_events(groups.log) == [
        ("matched", "T1", 1, "C1", 1, None),
        ("unmatched", "T1", 1, "C1", 1, "cancelled"),
        ("matched", "T2", 1, "C1", 1, None),
    ]


def test_a_better_late_candidate_re_pairs() -> None:
    _, groups = stream(
        [record("t", "T1"), record("c", "C2", price="50.01")],
        [record("c", "C1")],
    )
    assert match_events(groups.log)[1:] == [
        ("unmatched", "T1", 1, "C2", 1, "re_paired"),
        ("matched", "T1", 1, "C1", 1, None),
    ]


def test_windows_close_by_watermark_and_by_wall_clock() -> None:
    config = MatchConfig(Tolerances(), lateness=0, timeout=30_000_000)
    records, groups = ChangelogState(), ChangelogState()
    book, engine = RecordBook(records), MatchEngine(groups, config)
    fed = 0

    def feed(rec: MatchRecord, ts: int) -> None:
        nonlocal fed
        book.apply(rec, f"run:{rec.record_id}", 0)
        entries = relayed(records.log, "r:")
        for entry in entries[fed:]:
            engine.apply(m.from_json(entry["doc"]), 0, ts)
        fed = len(entries)

    def opened() -> set[str]:
        return {
            e["doc"]["record_id"]
            for e in relayed(groups.log, "g:")
            if e["to"] == m.EXCEPTIONS and e["doc"]["status"] == "open"
        }

    feed(record("t", "T1", minute=0), 1_000_000)
    feed(record("c", "C9", product="X", minute=1), 2_000_000)
    feed(record("t", "T2", product="Y", minute=20), 3_000_000)
    # watermark = min(latest trade, latest confirmation) = minute 1: nothing has closed
    assert opened() == set()
    feed(record("c", "C8", product="Z", minute=20), 4_000_000)
    # watermark minute 20 passes T1's (0 + 5 min tolerance) and C9's (1 + 5) windows
    assert opened() == {"T1", "C9"}
    engine.apply(m.Tick(40_000_000), 0, 40_000_000)  # wall clock: T2 and C8 time out
    assert opened() == {"T1", "C9", "T2", "C8"}
