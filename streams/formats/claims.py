"""Claim files: the CSV layout (docs/claims.md, "The CSV file") and the tolerances.

One file holds both kinds of row, told apart by the ``record`` column: ``header`` rows
fill the header columns, ``line`` rows the line columns; the other kind's columns stay
empty. Both carry ``claim_id``, ``version`` and ``vendor_id`` (the partition key).

An analyst's decision (docs/claims.md, "Analyst approval") is a row of its own layout,
``DECISION_COLUMNS``, told apart by its header row: ``recon claims approve`` publishes it
as a one-row file, and a file of decisions can be ingested like a claim file.
"""

from __future__ import annotations

from pydantic import ValidationError

from streams.domain.claims.approvals import ClaimDecision
from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.rules import Tolerances
from streams.domain.models.parsing import require_columns, row_of, validation_error
from streams.errors import Category, RecordError, Stage
from streams.settings import Settings

COMMON = ("claim_id", "version", "vendor_id")
HEADER_ONLY = ("agreement_id", "period", "claimed_amount", "currency", "line_count")
LINE_ONLY = ("txn_id", "line_no", "sold_on", "sku", "qty", "amount")
COLUMNS = ("record", *COMMON, *HEADER_ONLY, *LINE_ONLY)
KINDS: dict[str, tuple[type[ClaimHeader] | type[ClaimLine], tuple[str, ...], tuple[str, ...]]] = {
    "header": (ClaimHeader, HEADER_ONLY, LINE_ONLY),
    "line": (ClaimLine, LINE_ONLY, HEADER_ONLY),
}

DECISION_COLUMNS = (
    "record",  # approve | withdraw
    *COMMON,
    "amount",  # empty: the claimed amount
    "decided_by",
    "reason",
    "decided_at",
)

ClaimRecord = ClaimHeader | ClaimLine | ClaimDecision
# The row ingest publishes for an 844 it cannot read: ``claim_id`` holds the fault's
# category, ``agreement_id`` its message (streams/formats/claims_x12_source.py).
FAULT = "x12-fault"


def tolerances(settings: Settings) -> Tolerances:
    return Tolerances(
        over_amount=settings.claim_over_tolerance_amount,
        over_percent=settings.claim_over_tolerance_percent,
        under_amount=settings.claim_under_tolerance_amount,
        under_percent=settings.claim_under_tolerance_percent,
    )


def parse_decision_row(columns: list[str], raw: bytes, what: str) -> ClaimDecision:
    require_columns(columns, DECISION_COLUMNS, what)
    data = row_of(columns, raw, what)
    try:
        return ClaimDecision.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data, what) from exc


def decision_row(decision: ClaimDecision) -> list[str]:
    """The CSV fields of a decision, in ``DECISION_COLUMNS`` order."""
    return [
        decision.record.value,
        decision.claim_id,
        str(decision.version),
        decision.vendor_id,
        "" if decision.amount is None else str(decision.amount),
        decision.decided_by,
        decision.reason,
        decision.decided_at.isoformat(),
    ]


def parse_claim_row(columns: list[str], raw: bytes, what: str) -> ClaimRecord:
    """One CSV row of a claim file: a validated header or line, or a RecordError naming
    the row, the field and the value."""
    if set(columns) == set(DECISION_COLUMNS):
        return parse_decision_row(columns, raw, what)
    require_columns(columns, COLUMNS, what)
    row = row_of(columns, raw, what)
    if row["record"] == FAULT:
        try:
            category = Category(row["claim_id"])
        except ValueError:
            category = Category.SCHEMA_VIOLATION
        raise RecordError(category, Stage.PARSE, f"{what}: {row['agreement_id']}")
    kind = KINDS.get(row["record"])
    if kind is None:
        raise RecordError(
            Category.SCHEMA_VIOLATION,
            Stage.VALIDATE,
            f"{what}: field record={row['record']!r}: must be 'header' or 'line'",
            field="record",
            value=row["record"],
        )
    model: type[ClaimHeader] | type[ClaimLine] = kind[0]
    own, other = kind[1], kind[2]
    filled = [c for c in other if row[c]]
    if filled:
        raise RecordError(
            Category.SCHEMA_VIOLATION,
            Stage.VALIDATE,
            f"{what}: field {filled[0]}={row[filled[0]]!r}: must be empty on a {row['record']} row",
            field=filled[0],
            value=row[filled[0]],
        )
    data = {c: row[c] for c in (*COMMON, *own)}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data, what) from exc
