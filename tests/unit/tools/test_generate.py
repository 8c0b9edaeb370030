"""The synthetic claims feed covers what the claims crash test relies on: every status and
the failing kinds, against the plain reference (docs/claims.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from streams.domain.claims.rules import Tolerances
from streams.tools.generate import FeedSpec, write_claims, write_pos, write_promotions
from streams.tools.references import expected_claims

pytestmark = pytest.mark.unit


def test_generated_claims_cover_every_status_and_failing_kind(tmp_path: Path) -> None:
    pos, promotions, claims = (tmp_path / n for n in ("pos.csv", "promotions.csv", "claims.csv"))
    spec = FeedSpec(lines=2400, vendors=20, seed=13)
    write_pos(pos, spec)
    write_promotions(promotions, spec)
    first = write_claims(claims, pos, promotions, vendors=2)
    rows = claims.read_text().splitlines()[1:]
    assert rows[first - 1].startswith("header,BAD-1,")  # the first wave ends with the bad row
    assert {r.split(",")[2] for r in rows[first:] if r.startswith("header,")} <= {"1", "2"}

    ref = expected_claims(pos, promotions, claims, Tolerances())
    statuses = Counter(s.value for s in ref.status.values())
    assert statuses == {"matched": 2, "superseded": 2, "disputed": 6, "incomplete": 2}
    assert {kind for kind, *_ in ref.exceptions} == {
        "claim_line_double_claimed",
        "claim_line_over_quantity",
        "claim_line_unknown_sale",
        "claim_dispute",
    }
    matched = [v for v, s in ref.status.items() if s.value == "matched"]
    assert sorted(matched) == [("V0000-A", 2), ("V0001-A", 2)]
    assert all(ref.settled[v] > 0 for v in matched)
