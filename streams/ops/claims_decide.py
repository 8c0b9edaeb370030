"""`recon claims approve` / `recon claims withdraw-approval`: an analyst's decision on one
claim version, published as a record on the claims input (docs/claims.md, "Analyst
approval"), never as an edit of the worker's state.

The decision is written as a one-row file of the decisions layout and ingested like a claim
file: keyed by vendor (so it meets its claim on one partition), with the correlation id,
headers and manifest of any ingest run, so it is decided by the claims agent with the
same dedupe, outcome and dead-letter path, and `recon audit` counts it.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError

from streams.domain.claims.approvals import Action, ClaimDecision
from streams.errors import ReconError
from streams.formats.claims import DECISION_COLUMNS, decision_row
from streams.ingest.producer import IngestResult, ingest_file
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DecisionError(ReconError):
    """The decision cannot be published as given (no vendor known, a bad field)."""


def vendors_of(settings: Settings, claim_id: str) -> set[str]:
    """The vendors whose claim results name ``claim_id`` (claim ids are per vendor)."""
    found = set()
    for m in read_topic(settings, settings.topic(t.CLAIM_RESULTS)):
        if value := m.value():
            doc = json.loads(value)
            if doc.get("claim_id") == claim_id and doc.get("vendor_id"):
                found.add(doc["vendor_id"])
    return found


def vendor_for(settings: Settings, claim_id: str, vendor: str | None) -> str:
    if vendor:
        return vendor
    found = vendors_of(settings, claim_id)
    if len(found) == 1:
        return found.pop()
    if not found:
        raise DecisionError(
            f"claim {claim_id!r} has no result on {settings.topic(t.CLAIM_RESULTS)} yet: give "
            "its vendor with --vendor (a decision may come before its claim)"
        )
    raise DecisionError(
        f"claim {claim_id!r} is claimed by several vendors ({', '.join(sorted(found))}): "
        "give one with --vendor"
    )


def make_decision(
    action: Action,
    claim_id: str,
    version: int,
    vendor: str,
    decided_by: str,
    reason: str,
    amount: Decimal | str | None = None,
    decided_at: datetime | None = None,
) -> ClaimDecision:
    """``amount``: None (or '') for the claimed amount."""
    try:
        return ClaimDecision.model_validate(
            {
                "record": action,
                "claim_id": claim_id,
                "version": version,
                "vendor_id": vendor,
                "amount": amount,
                "decided_by": decided_by,
                "reason": reason,
                "decided_at": decided_at or datetime.now(UTC),
            }
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "decision"
        raise DecisionError(
            f"{action.value} of claim {claim_id} version {version}: {where}: {first['msg']}"
        ) from exc


def file_name(decision: ClaimDecision) -> str:
    """Names the decision in manifests, outcomes, dead letters and `recon trace`."""
    stamp = decision.decided_at.strftime("%Y%m%dT%H%M%S%fZ")
    claim = _UNSAFE.sub("_", decision.claim_id)
    return f"{decision.record.value}-{claim}-v{decision.version}-{stamp}.csv"


def write_decisions(path: Path, decisions: list[ClaimDecision]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(DECISION_COLUMNS)
        writer.writerows(decision_row(d) for d in decisions)


def publish_decision(settings: Settings, decision: ClaimDecision) -> IngestResult:
    with tempfile.TemporaryDirectory(prefix="recon-decision-") as folder:
        path = Path(folder) / file_name(decision)
        write_decisions(path, [decision])
        return ingest_file(settings, path, "claims")
