"""Vendor claims survive kill -9 (docs/claims.md, "Runtime"): sales, a late agreement with
an amendment and claims (versions, amended versions, double claims, over-quantity and
unknown lines, disputes, an incomplete claim) stream in while the worker is killed with
SIGKILL and restarted: once while the late agreements and the sales they accrue are
applied (claims turn matched and settle), once after the amended versions arrived and the
claims file was replayed (`recon replay` of raw.claims: settlements are reversed and
posted anew). Then a drain (a fresh start after a crash), and:

- `recon claims export` equals `recon claims reconcile`, and the statuses and open
  exceptions equal the plain reference (`streams/domain/claims/reference.py`);
- each claim version's settlement entries on the ledger (each entry id counted once, as
  the ledger's readers do, docs/domain.md §3.7) sum to its reference settlement to the
  cent, and so do the settlements per agreement and period; no entry id carries two
  amounts (read_ledger raises); the accrual entries equal the accrual reference;
- the replay added nothing: every replayed row was a duplicate (or dead-lettered again),
  and every file reconciles.

The ticks that evaluate the killed workers' claims run every 0.5 s and sweep every second.
A worker takes 12-16 s to start, join and restore on 2 shared cores, which is most of the
test's 45-70 s; RECON_CLAIMS_CRASH_KILLS (default 2) kills more often (each kill adds a
worker start).
"""

from __future__ import annotations

import io
import os
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from streams.errors import RecordError
from streams.formats.claims import parse_claim_row, tolerances
from streams.formats.csv_source import read_csv_records
from streams.kafka import topics as t
from streams.ops.claims import reconcile, write_export
from streams.ops.claims_export import read_claims
from streams.ops.ledger import SETTLEMENT_KINDS
from streams.ops.replay import plan, replay
from streams.settings import Settings
from streams.tools.references import expected_claims
from tests.integration.chaos import (
    SALES_AND_CLAIMS,
    Feed,
    check_books,
    create_topics,
    kill_loop,
    wait_for_progress,
)

pytestmark = pytest.mark.integration

LINES, PARTS, SEED = 2400, 6, 13
KILLS = int(os.environ.get("RECON_CLAIMS_CRASH_KILLS", "2"))


def export(results: list) -> str:  # type: ignore[type-arg]
    out = io.StringIO()
    write_export(results, out)
    return out.getvalue()


def claim_rows(path: Path) -> tuple[int, int]:
    """Valid and bad rows of a claims CSV (no row of the generated files repeats a key)."""
    header, records = read_csv_records(path)
    valid = bad = 0
    for rec in records:
        try:
            parse_claim_row(header.split(","), rec.raw, path.name)
            valid += 1
        except RecordError:
            bad += 1
    return valid, bad


def test_kill_9_while_claims_settle_keeps_statuses_and_settlements_exact(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = isolated_settings
    # The killed workers evaluate claims often; the drain keeps the default tick, slower
    # than its idle check (ticks appended every 0.5 s would never let it see the ends
    # steady).
    fast = settings.with_overrides(match_tick_seconds=0.5, claims_sweep_seconds=1)
    feed = Feed.write(tmp_path, LINES, seed=SEED, chunks=PARTS, claims=True)
    assert feed.claims is not None
    create_topics(settings)
    feeder = feed.ingest_on_demand(settings)
    worker = kill_loop(fast, tmp_path, KILLS - 1, random.Random(SEED), feeder, max_delay=1.5)
    feeder.finish()
    topic = settings.topic(t.RAW_CLAIMS)
    replayed = replay(settings, topic, plan(settings, topic, from_offset=0))
    wait_for_progress(fast, worker, topics=SALES_AND_CLAIMS)
    worker.kill_9()  # the last kill: the drain is a fresh start after a crash
    books = check_books(settings, feed, drain_timeout=300)

    tol = tolerances(settings)
    ref = expected_claims(feed.pos, feed.promotions, feed.claims, tol)
    statuses = Counter(s.value for s in ref.status.values())
    assert set(statuses) == {"matched", "disputed", "superseded", "incomplete"}, statuses
    kinds = {kind for kind, *_ in ref.exceptions}
    assert {"claim_line_double_claimed", "claim_line_over_quantity"} <= kinds
    assert {"claim_line_unknown_sale", "claim_dispute"} <= kinds

    view = read_claims(settings)
    offline = reconcile(feed.pos, feed.promotions, feed.claims, tol).results
    assert export(view.sorted_results()) == export(offline)
    assert {(r.claim_id, r.version): r.status for r in view.sorted_results()} == ref.status
    got = {(e.kind.value, e.claim_id, e.version, e.sale_key) for e in view.open_exceptions()}
    assert got == ref.exceptions

    # Settlements: per version from its ledger entries, and per agreement and period.
    settled = view.settled()
    assert {v: settled.get(v, Decimal(0)) for v in ref.status} == ref.settled
    assert set(settled) <= set(ref.status)
    assert sum(ref.settled.values()) > 0
    heads = {(r.claim_id, r.version): r for r in offline}
    want: Counter[tuple[str, str, str]] = Counter()
    for v, amount in ref.settled.items():
        if amount:
            want[(heads[v].agreement_id, heads[v].period, heads[v].currency)] += amount
    entries = [e for e in books.ledger.entries.values() if e["kind"] in SETTLEMENT_KINDS]
    sums: Counter[tuple[str, str, str]] = Counter()
    for e in entries:
        sums[(e["agreement_id"], e["period"], e["currency"])] += e["amount"]
    assert {k: v for k, v in sums.items() if v} == dict(want)

    # The replay added nothing: its rows were duplicates or dead-lettered again.
    for part in feed.claim_parts:
        valid, bad = claim_rows(part)
        row = books.files[part.name]
        assert (row.read, row.applied, row.duplicate, row.dead_lettered) == (
            2 * (valid + bad),
            valid,
            valid,
            2 * bad,
        ), row
    assert replayed.records == sum(sum(claim_rows(p)) for p in feed.claim_parts)
    kinds_posted = Counter(e["kind"] for e in entries)
    print(
        f"\nclaims kill -9 test: {KILLS} kills, {len(ref.status)} claim versions, "
        f"settlement entries {dict(kinds_posted)}, {books.duplicate_copies} duplicate "
        "entry_id copies on the ledger topic"
    )
