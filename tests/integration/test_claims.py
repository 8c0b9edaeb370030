"""Vendor claims through the worker on the real broker: the sample claims against the
sample POS and promotions, `recon claims export` equal to the offline reconciliation, and
a replayed claim file that adds nothing (docs/claims.md)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from streams.formats.claims import tolerances
from streams.ingest.producer import ingest_file
from streams.kafka.topics import create_topics
from streams.ops.audit import audit
from streams.ops.claims import reconcile, write_export
from streams.ops.claims_export import read_claims
from streams.ops.dlq import dlq_records
from streams.settings import Settings
from streams.tools.batch import drain

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POS, PROMOTIONS, CLAIMS = (EXAMPLES / n for n in ("pos.csv", "promotions.csv", "claims.csv"))


def table(results: list) -> str:  # type: ignore[type-arg]
    out = io.StringIO()
    write_export(results, out)
    return out.getvalue()


def test_sample_claims_end_to_end_and_replay(isolated_settings: Settings) -> None:
    settings = isolated_settings
    create_topics(settings)
    # Claims first: they wait for their sales and agreements, and follow them.
    ingest_file(settings, CLAIMS, "claims")
    ingest_file(settings, POS, "pos")
    ingest_file(settings, PROMOTIONS, "promotions")
    drain(settings)

    expected = reconcile(POS, PROMOTIONS, CLAIMS, tolerances(settings))
    view = read_claims(settings)
    assert table(view.sorted_results()) == table(expected.results)
    assert {r.status.value for r in view.sorted_results()} >= {"matched", "disputed"}
    settled = view.settled()
    assert {(r.claim_id, r.version): r.settled for r in expected.results} == {
        (r.claim_id, r.version): settled.get((r.claim_id, r.version), Decimal(0))
        for r in expected.results
    }
    kinds = {e.kind.value for e in view.open_exceptions()}
    assert {"claim_dispute", "claim_line_unknown_sale", "claim_line_double_claimed"} <= kinds
    claims_audit = next(r for r in audit(settings) if r.source_file == "claims.csv")
    assert (claims_audit.read, claims_audit.applied, claims_audit.dead_lettered) == (16, 15, 1)
    assert [r["category"] for r in dlq_records(settings) if "claims" in r["source_file"]] == [
        "invalid_value"
    ]

    # The same file again: every record a duplicate, no result changes, nothing settles twice.
    entries = set(view.settlements)
    ingest_file(settings, CLAIMS, "claims")
    drain(settings)
    again = read_claims(settings)
    assert table(again.sorted_results()) == table(expected.results)
    assert set(again.settlements) == entries
    assert (
        sum(s.amount for s in again.settlements.values())
        == sum(r.settled for r in expected.results)
        != Decimal(0)
    )
    replayed = [r for r in audit(settings) if r.source_file == "claims.csv"]
    assert sum(r.duplicate for r in replayed) == 15
