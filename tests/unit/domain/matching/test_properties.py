"""The pipeline against the plain reference over shuffled arrivals, amendments (including of
key fields), cancellations, duplicates and conflicting copies, windows closing mid-stream,
relay replays, and simulated crashes (changelog cut mid-message, then reprocessing)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.domain.matching import messages as m
from streams.domain.matching.engine import MatchConfig, MatchEngine
from streams.domain.matching.records import RecordBook
from streams.domain.matching.reference import expected
from streams.domain.matching.rules import Tolerances
from streams.domain.models.trades import MatchRecord, Status
from tests.unit.domain.matching.harness import (
    PARTITIONS,
    ChangelogState,
    Stage3Input,
    in_order,
    outputs,
    partition_of,
    record,
    relayed,
    run_all,
    run_groups,
    run_records,
)

pytestmark = pytest.mark.unit

CONFIG = MatchConfig(Tolerances())
Arrivals = list[tuple[MatchRecord, str]]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def versions(draw: st.DrawFn, side: str, rid: str) -> list[MatchRecord]:
    return [
        record(
            side,
            rid,
            v,
            qty=draw(st.sampled_from(["10", "10", "10", "11"])),
            price=draw(st.sampled_from(["50.00", "50.00", "50.01", "50.02", "51"])),
            minute=draw(st.sampled_from([0, 0, 1, 3, 6])),
            product=draw(st.sampled_from(["BASE", "BASE", "PEAK"])),
            status=draw(st.sampled_from([Status.ACTIVE] * 5 + [Status.CANCELLED])),
        )
        for v in range(1, draw(st.integers(1, 3)) + 1)
    ]


@st.composite
def books(draw: st.DrawFn, conflicts: bool = True) -> list[MatchRecord]:
    records: list[MatchRecord] = []
    for side in ("t", "c"):
        for i in range(draw(st.integers(1, 4))):
            records += draw(versions(side, f"{side.upper()}{i}"))
    records += draw(st.lists(st.sampled_from(records), max_size=4))  # duplicates
    if conflicts:
        for rec in draw(st.lists(st.sampled_from(records), max_size=2)):
            qty = Decimal("12") if rec.quantity != 12 else Decimal("13")
            records.append(rec.model_copy(update={"quantity": qty}))  # same id and version
    return records


def arrive(records: list[MatchRecord]) -> Arrivals:
    return [(rec, f"run:{i}") for i, rec in enumerate(records)]


@given(st.data())
@PROPERTY
def test_outputs_equal_the_reference_whatever_the_arrival_order(data: Any) -> None:
    records = data.draw(books())
    shuffled = data.draw(st.permutations(records))
    got, _, _ = run_all(arrive(shuffled), CONFIG)
    assert got == expected(shuffled, CONFIG.tolerances)


@given(st.data())
@PROPERTY
def test_same_pairing_for_every_arrival_order(data: Any) -> None:
    records = data.draw(books(conflicts=False))
    first, _, _ = run_all(arrive(data.draw(st.permutations(records))), CONFIG)
    second, _, _ = run_all(arrive(data.draw(st.permutations(records))), CONFIG)
    assert first == second


@given(st.data())
@PROPERTY
def test_windows_closing_mid_stream_do_not_change_the_final_state(data: Any) -> None:
    """Ticks and a tiny lateness and timeout close windows while records still arrive:
    exceptions open early and resolve later, and the final fold is still the reference."""
    config = MatchConfig(Tolerances(), lateness=0, timeout=3_000_000)
    shuffled = data.draw(st.permutations(data.draw(books())))
    records = ChangelogState()
    run_records(RecordBook(records), arrive(shuffled))
    stage3 = Stage3Input()
    for entry in relayed(records.log, "r:"):
        if data.draw(st.booleans(), label="tick first"):
            stage3.append(data.draw(st.integers(0, PARTITIONS - 1)), m.Tick(stage3.clock))
        stage3.publish([entry])
    stage3.final_ticks()
    groups = ChangelogState()
    run_groups(MatchEngine(groups, config), in_order(stage3.queues))
    got = outputs(relayed(records.log, "r:") + relayed(groups.log, "g:"))
    assert got == expected(shuffled, config.tolerances)


def crash_and_resume(
    data: Any, log: list[Any], boundaries: list[int], units: list[Any], label: str
) -> tuple[ChangelogState, list[Any]]:
    """Cut the changelog anywhere; the recovered state must then take each unit (record or
    message) again from a committed position at or before the last unit fully logged."""
    cut = data.draw(st.integers(0, len(log)), label=f"{label} changelog cut")
    done = sum(1 for b in boundaries if b <= cut)
    committed = data.draw(st.integers(0, done), label=f"{label} committed")
    return ChangelogState.recovered(log[:cut]), units[committed:]


@given(st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_crashes_and_relay_replays_change_nothing(data: Any) -> None:
    shuffled = data.draw(st.permutations(data.draw(books())))
    arrivals = arrive(shuffled)

    # Stage 2 crashes mid-way and resumes from a committed offset.
    first = ChangelogState()
    book, boundaries = RecordBook(first), []
    for rec, corr in arrivals:
        book.apply(rec, corr, 0)
        boundaries.append(len(first.log))
    records, todo = crash_and_resume(data, first.log, boundaries, arrivals, "records")
    run_records(RecordBook(records), todo)

    # The relay publishes the surviving changelog, replaying a stretch after its own crash;
    # then a zombie relay (fenced off by a rebalance) publishes a stale stretch late.
    entries = relayed(records.log, "r:")
    j = data.draw(st.integers(0, len(entries)), label="relay reached")
    i = data.draw(st.integers(0, j), label="relay resumed at")
    b = data.draw(st.integers(0, len(entries)), label="zombie reached")
    a = data.draw(st.integers(0, b), label="zombie started at")
    stage3 = Stage3Input()
    stage3.publish(entries[:j] + entries[i:] + entries[a:b])
    stage3.final_ticks()

    # Stage 3 crashes mid-way; each partition resumes from its own committed offset.
    messages = in_order(stage3.queues)
    once = ChangelogState()
    engine, boundaries = MatchEngine(once, CONFIG), []
    for partition, msg, ts in messages:
        engine.apply(msg, partition, ts)
        boundaries.append(len(once.log))
    cut = data.draw(st.integers(0, len(once.log)), label="groups changelog cut")
    groups = ChangelogState.recovered(once.log[:cut])
    resumed = MatchEngine(groups, CONFIG)
    for p in range(PARTITIONS):
        mine = [(n, msg) for n, msg in enumerate(messages) if msg[0] == p]
        done = sum(1 for n, _ in mine if boundaries[n] <= cut)
        committed = data.draw(st.integers(0, done), label=f"partition {p} committed")
        run_groups(resumed, [msg for _, msg in mine[committed:]])

    got = outputs(relayed(records.log, "r:") + relayed(groups.log, "g:"))
    assert got == expected(shuffled, CONFIG.tolerances)


def test_group_stage_is_idempotent_per_message() -> None:
    """Every message applied twice in a row: the second application writes nothing."""
    recs = [record("t", "T1"), record("c", "C1"), record("t", "T1", 2, product="PEAK")]
    records = ChangelogState()
    run_records(RecordBook(records), arrive(recs))
    stage3 = Stage3Input()
    stage3.publish(relayed(records.log, "r:"))
    groups = ChangelogState()
    engine = MatchEngine(groups, CONFIG)
    for partition, msg, ts in in_order(stage3.queues):
        engine.apply(msg, partition, ts)
        before = len(groups.log)
        engine.apply(msg, partition, ts)
        assert groups.log[before:] == []
    assert {partition_of(e["key"]) for e in relayed(records.log, "r:")} <= set(range(3))
