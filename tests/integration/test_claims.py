"""Vendor claims through the worker on the real broker: the sample claims against the
sample POS and promotions, an analyst's approval of a disputed claim and the rejection of
another published before them, `recon claims export` equal to the offline reconciliation,
and a replayed claim file that adds nothing (docs/claims.md)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from streams.domain.claims.approvals import Action
from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.formats.chunks import line_correlation_id
from streams.formats.claims import parse_claim_row, tolerances
from streams.formats.x12 import X12Reader
from streams.formats.x12.claims import Claim844, interchange, read_849, write_844
from streams.ingest.producer import ingest_file
from streams.kafka.topics import create_topics
from streams.ops.audit import audit
from streams.ops.claims import reconcile, write_export
from streams.ops.claims_decide import make_decision, publish_decision, vendor_for, write_decisions
from streams.ops.claims_export import read_claims, read_responses
from streams.ops.dlq import dlq_records
from streams.ops.trace import trace
from streams.settings import Settings
from streams.tools.batch import drain

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POS, PROMOTIONS, CLAIMS = (EXAMPLES / n for n in ("pos.csv", "promotions.csv", "claims.csv"))


def table(results: list) -> str:  # type: ignore[type-arg]
    out = io.StringIO()
    write_export(results, out)
    return out.getvalue()


def split_claims(tmp_path: Path) -> tuple[Path, Path]:
    """The sample claims as a CSV without INITECH's claim, and that claim as an 844."""
    header, *rows = CLAIMS.read_text().splitlines()
    ours = [r for r in rows if ",INITECH," in r]
    csv_file, edi = tmp_path / "claims-but-initech.csv", tmp_path / "initech.edi"
    csv_file.write_text("\n".join([header, *(r for r in rows if r not in ours)]) + "\n")
    parsed = [parse_claim_row(header.split(","), r.encode(), "x") for r in ours]
    head = next(r for r in parsed if isinstance(r, ClaimHeader))
    lines = [r for r in parsed if isinstance(r, ClaimLine)]
    edi.write_bytes(interchange([write_844(Claim844(head, lines), "0001")]))
    return csv_file, edi


def test_sample_claims_end_to_end_and_replay(isolated_settings: Settings, tmp_path: Path) -> None:
    # the 849 answering the 3-line 844 goes out as one set per line, as a large one would
    settings = isolated_settings.model_copy(update={"claims_849_part_bytes": 1})
    create_topics(settings)
    claims_csv, claims_844 = split_claims(tmp_path)
    # The analyst's approval of the disputed CLM-200 first: it waits for its claim.
    approval = make_decision(
        Action.APPROVE, "CLM-200", 1, "INITECH", "ana", "agreed on the phone", "121.67"
    )
    published = publish_decision(settings, approval)
    approved = published.source_file
    # and the rejection of CLM-400 (disputed: it claims a sale CLM-050 owns)
    rejection = make_decision(Action.REJECT, "CLM-400", 1, "ACME", "bo", "not our promotion")
    rejected = publish_decision(settings, rejection).source_file
    # Claims first: they wait for their sales and agreements, and follow them.
    run = ingest_file(settings, claims_csv, "claims").run_id
    run_844 = ingest_file(settings, claims_844, "claims").run_id
    ingest_file(settings, POS, "pos")
    ingest_file(settings, PROMOTIONS, "promotions")
    # The whole claim file again (one worker run keeps the test short): every record a
    # duplicate of one already read, so no result changes and nothing settles twice.
    ingest_file(settings, CLAIMS, "claims")
    drain(settings)

    write_decisions(decisions := tmp_path / "decisions.csv", [approval, rejection])
    expected = reconcile(POS, PROMOTIONS, CLAIMS, tolerances(settings), (decisions,))
    view = read_claims(settings)
    assert table(view.sorted_results()) == table(expected.results)
    initech = view.results[("CLM-200", 1)]
    assert (initech.status.value, initech.settled, initech.approved_by) == (
        "approved",
        Decimal("121.67"),
        "ana",
    )
    assert [s.amount for s in view.settlements.values() if s.claim_id == "CLM-200"] == [
        Decimal("121.67")
    ]
    clm400 = view.results[("CLM-400", 1)]
    assert (clm400.status.value, clm400.settled, clm400.rejected_by) == ("rejected", 0, "bo")
    assert vendor_for(settings, "CLM-200", None) == "INITECH"  # `recon claims approve`'s look-up
    assert {r.status.value for r in view.sorted_results()} >= {"matched", "approved"}
    settled = view.settled()
    assert {(r.claim_id, r.version): r.settled for r in expected.results} == {
        (r.claim_id, r.version): settled.get((r.claim_id, r.version), Decimal(0))
        for r in expected.results
    }
    kinds = {e.kind.value for e in view.open_exceptions()}
    assert {"claim_dispute", "claim_line_unknown_sale", "claim_line_double_claimed"} <= kinds
    files = {r.source_file: r for r in audit(settings)}
    split = files["claims-but-initech.csv"]
    assert (split.read, split.applied, split.dead_lettered) == (12, 11, 1)
    assert (files["initech.edi"].read, files["initech.edi"].applied) == (4, 4)
    assert (files[approved].read, files[approved].applied) == (1, 1)
    assert (files[rejected].read, files[rejected].applied) == (1, 1)
    # `recon trace` of the approval row: read, decided, then its claim version's outputs
    hops = trace(settings, line_correlation_id(published.run_id, 2))
    assert {"raw", "outcome", "claim", "ledger"} <= {h.stage for h in hops}
    assert any("status=approved" in h.detail and "approved=121.67 by=ana" in h.detail for h in hops)
    # The 844 is answered by an 849 with its status and each line's verdict, in three sets,
    # each an interchange with a control number of its own.
    (response,) = read_responses(settings).values()
    sets = list(X12Reader(io.BytesIO(response)))
    answers = [read_849(ts) for ts in sets]  # type: ignore[arg-type]
    assert {(a.claim_id, a.status) for a in answers} == {("CLM-200", "approved")}
    assert [a.part for a in answers] == [(1, 3), (2, 3), (3, 3)]
    assert sorted(v.kind for a in answers for v in a.lines) == sorted(
        ["", "claim_line_over_quantity", "claim_line_unknown_sale"]
    )
    controls = [ts.interchange.control_number for ts in sets]  # type: ignore[union-attr]
    assert len(set(controls)) == 3
    # `recon trace` of a claim row: read, decided, then its claim's path
    hops = trace(settings, line_correlation_id(run, 2))  # CLM-100's header row
    assert [h.stage for h in hops][:2] == ["raw", "outcome"]
    assert {h.stage for h in hops} >= {"claim", "ledger"}
    assert any("claim=CLM-100 v1 status=matched" in h.detail for h in hops if h.stage == "claim")
    (settlement,) = [h for h in hops if h.stage == "ledger"]
    assert " settlement 10.98 EUR" in settlement.detail and "claim=CLM-100 v1" in settlement.detail
    assert settlement.correlation_id == line_correlation_id(run, 2)
    assert all(h.traceparent.split("-")[1] == hops[0].traceparent.split("-")[1] for h in hops)
    # a line row of the 844 (its header is at the ST's segment index, its lines follow): its own
    # line exception, and the claim-level outputs of its version, up to the 849
    (st,) = list(X12Reader(io.BytesIO(claims_844.read_bytes())))
    first = st.position.segment_index  # type: ignore[union-attr]
    unknown = trace(settings, line_correlation_id(run_844, first + 3))  # TX99999
    # the raw row first; the version's outputs are written with the batch's state, before
    # its outcomes are produced, so their times may come before the row's outcome
    stages = [h.stage for h in unknown]
    assert stages[0] == "raw" and "outcome" in stages
    assert {h.stage for h in unknown} >= {"claim", "exception", "849"}
    # not the over-quantity exception of another line (the header row's path has both)
    kinds = {h.detail.split(" ")[1] for h in unknown if h.stage == "exception"}
    assert kinds == {"claim_dispute", "claim_line_unknown_sale"}
    assert any("849 claim=CLM-200 v1 status=approved" in h.detail for h in unknown)
    assert [r["category"] for r in dlq_records(settings) if "claims" in r["source_file"]] == [
        "invalid_value"
    ] * 2

    assert (
        sum(s.amount for s in view.settlements.values())
        == sum(r.settled for r in expected.results)
        != Decimal(0)
    )
    replayed = files["claims.csv"]  # INITECH's rows were applied as an 844: duplicates too
    assert (replayed.read, replayed.applied, replayed.duplicate) == (16, 0, 15)
    assert replayed.dead_lettered == 1
