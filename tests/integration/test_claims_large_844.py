"""A large 844 through the worker on the real broker: its 849 answer (about 1.7 MB of
segments, over the default max.message.bytes as one record) goes out in sets, each its
own changelog record and interchange, and reads back to every line (docs/claims.md,
"EDI 844 and 849")."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.formats.x12 import X12Reader
from streams.formats.x12.claims import Claim844, interchange, read_849, write_844
from streams.ingest.producer import ingest_file
from streams.kafka.topics import create_topics
from streams.ops.audit import audit
from streams.ops.claims_export import read_responses
from streams.settings import Settings
from streams.tools.batch import drain

pytestmark = pytest.mark.integration

LINES = 20_000


def test_a_large_844_is_answered_in_sets_without_blocking_its_partition(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = isolated_settings
    create_topics(settings)
    header = ClaimHeader(
        claim_id="CLM-LARGE", version=1, agreement_id="AGR-INITECH", vendor_id="INITECH",
        period="2026-01", claimed_amount=Decimal("200.00"), currency="USD", line_count=LINES,
    )  # fmt: skip
    lines = [
        ClaimLine(claim_id="CLM-LARGE", version=1, vendor_id="INITECH",
                  txn_id=f"TXN-2026-01-{i:08d}", line_no=1, sold_on=date(2026, 1, 5),
                  sku="INI-1", qty=1, amount=Decimal("0.01"))
        for i in range(LINES)
    ]  # fmt: skip
    edi = tmp_path / "large.edi"
    edi.write_bytes(interchange([write_844(Claim844(header, lines), "0001")]))
    ingest_file(settings, edi, "claims")
    drain(settings)  # the claims agent's batches commit: nothing over the message size

    (answer,) = read_responses(settings).values()
    interchanges = answer.split(b"IEA*")
    sets = list(X12Reader(io.BytesIO(answer)))
    responses = [read_849(ts) for ts in sets]  # type: ignore[arg-type]
    assert len(responses) > 1 and len(interchanges) - 1 == len(responses)
    assert max(map(len, interchanges)) < 1_000_000
    assert [r.part for r in responses] == [(k, len(sets)) for k in range(1, len(sets) + 1)]
    # no sale was ever reported: every line an unknown sale, the claim disputed
    verdicts = [v for r in responses for v in r.lines]
    assert len({v.txn_id for v in verdicts}) == LINES
    assert {v.kind for v in verdicts} == {"claim_line_unknown_sale"}
    assert {r.status for r in responses} == {"disputed"}
    controls = {ts.interchange.control_number for ts in sets}  # type: ignore[union-attr]
    assert len(controls) == len(sets)
    (large,) = [r for r in audit(settings) if r.source_file == "large.edi"]
    assert (large.read, large.applied, large.dead_lettered) == (LINES + 1, LINES + 1, 0)
