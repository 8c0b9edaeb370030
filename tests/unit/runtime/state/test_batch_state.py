"""Write-behind state: the engine on batches flushed once per key gives the same ledger as
record by record, and a crash anywhere in a flush, then reprocessing, stays exact."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rocksdict import Options, Rdict

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.keys import write_rank
from streams.domain.accrual.postings import EntryKind, Posting, RecordRef, merge_outbox
from streams.domain.accrual.reference import reference_totals
from streams.domain.models.pos import SaleLine
from streams.domain.state import DictState, decode
from streams.runtime.sequence import in_event
from streams.runtime.state.batch import BatchTableState
from tests.unit.domain.accrual.test_engine_properties import (
    Event,
    apply,
    arrivals,
    ledger_totals,
    refs_for,
    relayed,
)

pytestmark = pytest.mark.unit

RE_RATE = EntryKind.RE_RATE


class ChangelogTable(dict[bytes, bytes]):
    """A table that records every write in order, like its changelog partition."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, bytes]] = []

    def __setitem__(self, key: bytes, value: bytes) -> None:
        super().__setitem__(key, value)
        self.log.append((key.decode(), value))


def by_row(postings: list[Posting]) -> dict[tuple[str, str], list[Posting]]:
    rows: dict[tuple[str, str], list[Posting]] = {}
    for p in postings:
        rows.setdefault((p.agreement_id, p.period), []).append(p)
    return rows


def without_outbox(raw: bytes) -> dict[str, Any]:
    """A row's value but its outbox (batched, it holds the entries of every write)."""
    doc = decode(raw)
    doc.pop("out", None)
    return doc


def decide(engine: RebateEngine, event: Event, ref: RecordRef) -> None:
    """What the rebate agents decide per record: a sale only folds in, ``settle`` posts."""
    if isinstance(event, SaleLine):
        engine.apply_sale(event, ref)
    else:
        apply(engine, event, ref)


def write(engine: RebateEngine, state: BatchTableState) -> None:
    """What the agents do at the end of a partition's run: settle, then flush."""
    engine.settle()
    state.flush()


def batched(table: ChangelogTable) -> tuple[RebateEngine, BatchTableState]:
    state = BatchTableState(cast(Any, table), merge_outbox, write_rank)
    return RebateEngine(state), state


def test_reads_see_pending_writes_and_flush_writes_each_key_once() -> None:
    table = ChangelogTable()
    state = BatchTableState(cast(Any, table), merge_outbox, write_rank)
    state.put("p:A", {"x": "1", "out": [{"id": 1}]})
    state.put("p:A", {"x": "2", "out": [{"id": 2}]})
    state.put("d:k", {"o": "r1"})
    assert state.get("p:A") == {"x": "2", "out": [{"id": 1}, {"id": 2}]}
    row = state.get("p:A")  # the engine's read-modify-write, on the decoded pending value
    assert row is not None
    row["x"], row["out"] = "3", [{"id": 3}]
    assert state.get("p:A") == {"x": "2", "out": [{"id": 1}, {"id": 2}]}  # not put yet
    state.put("p:A", row)
    assert state.get("p:A") == {"x": "3", "out": [{"id": 1}, {"id": 2}, {"id": 3}]}
    assert table == {} and state.pending == 2
    assert state.flush() == 2
    assert [key for key, _ in table.log] == ["d:k", "p:A"]  # a mark before postings
    state.put("p:A", {"x": "4", "out": []})  # flushed entries were relayed: not carried over
    state.flush()
    assert state.get("p:A") == {"x": "4", "out": []}


@given(arrivals(), st.integers(1, 8))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_batches_relay_the_entries_of_record_by_record(events: list[Event], size: int) -> None:
    one_by_one = RebateEngine(DictState())
    expected = [
        p for e, r in zip(events, refs_for(events), strict=True) for p in apply(one_by_one, e, r)
    ]
    table = ChangelogTable()
    engine, state = batched(table)
    for i, (event, ref) in enumerate(zip(events, refs_for(events), strict=True), 1):
        apply(engine, event, ref)
        if i % size == 0:
            state.flush()
    state.flush()
    # Entries of one posting row keep their order; rows may flush in another order.
    assert by_row(relayed(table.log)) == by_row(expected)
    final = one_by_one.state.data  # type: ignore[attr-defined]
    assert {k: without_outbox(v) for k, v in final.items()} == {
        k.decode(): without_outbox(v) for k, v in table.items()
    }


@given(arrivals(), st.integers(1, 8), st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_crash_mid_flush_then_reprocessing_in_batches_is_exact(
    events: list[Event], size: int, data: Any
) -> None:
    refs = refs_for(events)
    table = ChangelogTable()
    engine, state = batched(table)
    flushed = [(0, 0)]  # (changelog length, records) after each complete flush
    for i, (event, ref) in enumerate(zip(events, refs, strict=True), 1):
        decide(engine, event, ref)
        if i % size == 0 or i == len(events):
            write(engine, state)
            flushed.append((len(table.log), i))
    cut = data.draw(st.integers(0, len(table.log)), label="changelog cut")
    done = max(records for length, records in flushed if length <= cut)

    recovered = ChangelogTable()
    for key, raw in table.log[:cut]:
        dict.__setitem__(recovered, key.encode(), raw)
    recovered.log = list(table.log[:cut])
    second, second_state = batched(recovered)
    # Offsets are committed only for whole batches: each topic resumes at or before the
    # records of the last complete flush, and the topics may interleave differently.
    queues = []
    for is_promo in (False, True):
        records = [
            (e, r)
            for e, r in zip(events, refs, strict=True)
            if (type(e).__name__ == "Agreement") is is_promo
        ]
        applied = sum(1 for e in events[:done] if (type(e).__name__ == "Agreement") is is_promo)
        committed = data.draw(st.integers(0, applied), label=f"committed (promo={is_promo})")
        queues.append(records[committed:])
    order = data.draw(
        st.permutations([0] * len(queues[0]) + [1] * len(queues[1])), label="interleaving"
    )
    iters = [iter(q) for q in queues]
    for n, which in enumerate(order, 1):
        event, ref = next(iters[which])
        decide(second, event, ref)
        if n % size == 0:
            write(second, second_state)
    write(second, second_state)
    assert ledger_totals(relayed(recovered.log)) == reference_totals(events)


@given(arrivals(), st.integers(1, 8))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_settled_batches_post_once_per_row_and_keep_the_ledger_exact(
    events: list[Event], size: int
) -> None:
    """After every flush the ledger of each (agreement, period) is its target; a batch of
    sales posts at most one entry per row it touched, covering those sales."""
    refs = refs_for(events)
    table = ChangelogTable()
    engine, state = batched(table)
    for start in range(0, len(events), size):
        batch = list(zip(events, refs, strict=True))[start : start + size]
        for event, ref in batch:
            decide(engine, event, ref)
        sold = [(e, r) for e, r in batch if isinstance(e, SaleLine)]
        settled = engine.settle()
        state.flush()
        # one entry per row touched (a currency change may reverse the old total first)
        rows = Counter((p.agreement_id, p.period) for p in settled if p.kind is not RE_RATE)
        assert set(rows.values()) <= {1}
        offsets = {r.offset for _, r in sold}
        for p in settled:
            assert 1 <= p.records <= len(sold)
            assert {p.first_offset, p.last_offset} <= offsets
        done = events[: start + size]
        assert ledger_totals(relayed(table.log)) == reference_totals(done)


class Store:
    """Stands in for Faust's RocksDB store: one DB per partition (real RocksDB, opened as
    Faust opens it: raw mode), persisted offsets."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.dbs: dict[int, Rdict] = {}
        self.persisted: dict[tuple[str, int], int] = {}

    def _db_for_partition(self, partition: int) -> Rdict:
        if partition not in self.dbs:
            path = str(self.folder / str(partition))
            self.dbs[partition] = Rdict(path, options=Options(raw_mode=True))
        return self.dbs[partition]

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.persisted[(tp.topic, tp.partition)] = offset


class FakeEvent(SimpleNamespace):
    """Weak-referenceable, as Faust's events are."""


class Sends:
    """Stands in for DirectOutput: what was sent, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.observers: dict[str, Any] = {}

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Any = None,
        partition: int | None = None,
    ) -> None:
        self.sent.append((topic, key, value, partition))

    def observe(self, topic: str, delivered: Any) -> None:
        self.observers[topic] = delivered


def test_flush_through_an_output_writes_the_store_and_the_changelog_partition(
    tmp_path: Path,
) -> None:
    store, out = Store(tmp_path), Sends()
    table = SimpleNamespace(
        data=store, changelog_topic=SimpleNamespace(get_topic_name=lambda: "app-state-changelog")
    )
    state = BatchTableState(cast(Any, table), merge_outbox, write_rank, cast(Any, out))
    state.put("p:A", {"x": "1", "out": []})
    state.put("d:k", {"o": "r1"})
    with pytest.raises(RuntimeError, match="outside of an event"):
        state.flush()
    event = FakeEvent(message=SimpleNamespace(partition=3))
    with in_event(cast(Any, event)):
        assert state.flush() == 2
        assert state.get("p:A") == {"x": "1", "out": []}  # read back from partition 3's DB
        assert state.get("p:B") is None
    assert [(t, k, p) for t, k, _, p in out.sent] == [
        ("app-state-changelog", b"d:k", 3),
        ("app-state-changelog", b"p:A", 3),
    ]
    assert list(store.dbs) == [3]
    assert dict(store.dbs[3].items()) == {b"d:k": out.sent[0][2], b"p:A": out.sent[1][2]}
    # The output reports the highest offset delivered: recovery resumes after it.
    out.observers["app-state-changelog"]("app-state-changelog", 3, 41)
    assert store.persisted == {("app-state-changelog", 3): 41}
