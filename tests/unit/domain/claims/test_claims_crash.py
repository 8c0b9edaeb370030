"""A worker killed mid-flush: the claims agent's batch is written only in part (a prefix of
its writes in write order, as the changelog keeps them), the batch is reprocessed on the
restored state, and what the relay saw folds to the statuses and settlements of a run
without a crash; no settlement entry id ever has two amounts (docs/claims.md, "Outputs").
With one line exception event a page, the cut also falls between a version document, its
pages and the line buckets: no exception event is lost."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any

import pytest

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.postings import RecordRef, merge_outbox
from streams.domain.claims import outbox
from streams.domain.claims.engine import ClaimsEngine
from streams.domain.claims.facts import RebateStateFacts
from streams.domain.claims.models import ClaimHeader
from streams.domain.claims.results import ClaimException, ClaimResult
from streams.domain.claims.rules import Tolerances
from streams.domain.claims.store import write_rank
from streams.domain.models.parsing import to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.state import BatchedState, decode
from streams.errors import RecordError
from streams.formats.claims import ClaimRecord, parse_claim_row
from streams.formats.csv_source import read_csv_records
from streams.ops.claims import reconcile
from streams.ops.claims_export import ClaimsView

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"
POS, PROMOTIONS, CLAIMS = (EXAMPLES / n for n in ("pos.csv", "promotions.csv", "claims.csv"))
BATCH = 3
PREFIXES = tuple(p.encode() for p in outbox.OUTBOX_PREFIXES)


class Durable(BatchedState):
    """Write-behind state over a dict that survives the crash; every durable write of a
    version document is what the relay sees."""

    def __init__(self, store: dict[bytes, bytes], relayed: list[dict[str, Any]]) -> None:
        super().__init__(merge_outbox, write_rank)
        self.store, self.relayed = store, relayed

    def _read(self, raw_key: bytes) -> bytes | None:
        return self.store.get(raw_key)

    def flush(self, keep: int | None = None) -> None:
        writes = self.take_pending()
        for raw_key, raw in writes[:keep]:
            self.store[raw_key] = raw
            if raw_key.startswith(PREFIXES):
                self.relayed += decode(raw).get("out", [])


def rows(path: Path, model: type[Any]) -> list[Any]:
    header, records = read_csv_records(path)
    out = []
    for rec in records:
        with contextlib.suppress(RecordError):
            out.append(to_model(model, header.split(","), rec.raw, "x"))
    return out


def claim_rows() -> list[tuple[ClaimRecord, str]]:
    header, records = read_csv_records(CLAIMS)
    out = []
    for rec in records:
        with contextlib.suppress(RecordError):
            out.append((parse_claim_row(header.split(","), rec.raw, "x"), f"claims:{rec.line}"))
    return out


def run(crash_batch: int | None, keep: int, page_entries: int = outbox.PAGE_ENTRIES) -> ClaimsView:
    store: dict[bytes, bytes] = {}
    relayed: list[dict[str, Any]] = []
    state = Durable(store, relayed)
    rebates = RebateEngine(state)
    for n, agr in enumerate(rows(PROMOTIONS, Agreement)):
        rebates.apply_agreement(agr, RecordRef(f"p:{n}", n))
    for n, sale in enumerate(rows(POS, SaleLine)):
        rebates.apply_sale(sale, RecordRef(f"s:{n}", n))
    rebates.settle()
    state.flush()

    def new_engine() -> ClaimsEngine:
        return ClaimsEngine(state, RebateStateFacts(state), Tolerances())

    def batch(engine: ClaimsEngine, records: list[tuple[ClaimRecord, str]], keep: Any) -> None:
        for record, rid in records:
            if isinstance(record, ClaimHeader):
                engine.apply_header(record, rid)
            else:
                engine.apply_lines([(record, rid)])
        outbox.stage(state, outbox.outbox_entries(engine.settle()), page_entries)
        state.flush(keep)

    engine = new_engine()
    records = claim_rows()
    for i in range(0, len(records), BATCH):
        part = records[i : i + BATCH]
        if i // BATCH == crash_batch:
            batch(engine, part, keep)  # killed part-way through the flush
            engine = new_engine()  # restarted: the dirty marks are gone
        batch(engine, part, None)
    engine.sweep()  # the end of input
    outbox.stage(state, outbox.outbox_entries(engine.settle()), page_entries)
    state.flush()

    view = ClaimsView()
    amounts: dict[str, str] = {}
    for doc in relayed:
        view.add(doc)
        if doc["type"] == outbox.SETTLEMENT:
            assert amounts.setdefault(doc["entry_id"], doc["amount"]) == doc["amount"]
    return view


@functools.cache
def without_a_crash() -> list[ClaimResult]:
    return reconcile(POS, PROMOTIONS, CLAIMS, Tolerances()).results


@pytest.mark.parametrize("crash_batch", range(6))
@pytest.mark.parametrize("keep", [0, 1, 3, 8])
def test_a_crash_mid_flush_changes_no_status_and_settles_nothing_twice(
    crash_batch: int, keep: int
) -> None:
    expected = without_a_crash()
    view = run(crash_batch, keep)
    got = [(r.claim_id, r.version, r.status, r.accrued, r.failing) for r in view.sorted_results()]
    assert got == [(r.claim_id, r.version, r.status, r.accrued, r.failing) for r in expected]
    settled = view.settled()
    for r in expected:
        assert settled.get((r.claim_id, r.version), 0) == r.settled
    assert any(r.settled for r in expected)


def open_exceptions(view: ClaimsView) -> list[tuple[str, str, str]]:
    return [(e.exception_id, e.sale_key, e.details) for e in view.open_exceptions()]


@functools.cache
def open_without_a_crash() -> tuple[list[tuple[str, str, str]], list[ClaimException]]:
    view = run(None, 0)
    return open_exceptions(view), list(view.exceptions.values())


@pytest.mark.parametrize("crash_batch", range(6))
@pytest.mark.parametrize("keep", [0, 1, 2, 4, 6, 9, 13])
def test_a_crash_between_pages_and_their_document_loses_no_exception_event(
    crash_batch: int, keep: int
) -> None:
    expected, events = open_without_a_crash()
    assert any(e.sale_key for e in events)  # line exceptions were paged
    view = run(crash_batch, keep, page_entries=1)
    assert open_exceptions(view) == expected
    assert {e.exception_id for e in view.exceptions.values()} >= {e.exception_id for e in events}
