"""`recon claims reconcile`: claims against accruals over files, in one process.

The same engines the worker runs (the rebate engine, then the claims engine on its state)
over a POS file, a promotions file and a claims file (CSV, or X12 844s), with no broker:
for an analyst checking a vendor's claim file before it is ingested, and the in-process
reference the worker's claims are compared with (`make demo`, the integration tests).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.postings import RecordRef
from streams.domain.claims import store
from streams.domain.claims.approvals import (
    Action,
    ClaimDecision,
    approved_amount,
    rejection_shown,
    ruling_of,
)
from streams.domain.claims.engine import ClaimsEngine
from streams.domain.claims.facts import RebateStateFacts
from streams.domain.claims.models import ClaimHeader
from streams.domain.claims.results import ClaimResult
from streams.domain.claims.rules import ClaimStatus, Tolerances
from streams.domain.models.parsing import to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.state import DictState
from streams.errors import RecordError
from streams.formats.claims import parse_claim_row, parse_decision_row
from streams.formats.csv_source import read_csv_records
from streams.formats.x12 import Fault, X12Reader
from streams.formats.x12.claims import LineVerdict, parse_claim_sets, write_849

EXPORT_COLUMNS = (
    "claim",
    "version",
    "agreement",
    "period",
    "currency",
    "claimed",
    "accrued",
    "difference",
    "status",
    "failing_lines",
    "approved_by",
    "approved_amount",
    "approval_reason",
    "rejected_by",
    "rejection_reason",
)


@dataclass
class Reconciliation:
    results: list[ClaimResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # bad input records, with their error
    responses: list[list[str]] = field(default_factory=list)  # 849 sets, one per 844 read


def _is_x12(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(3) == b"ISA"


def _rows(
    path: Path, parse: Callable[[list[str], Any, str], Any], errors: list[str]
) -> Iterator[tuple[str, Any]]:
    """``(record id, parsed row)`` of a CSV file; a bad row's error goes to ``errors``."""
    header, records = read_csv_records(path)
    columns = [c.strip() for c in header.split(",")]
    for rec in records:
        try:
            row = parse(columns, rec.raw, f"{path.name} line {rec.line}")
        except RecordError as exc:
            errors.append(exc.message)
            continue
        yield f"{path.name}:{rec.line}", row


def _model_row(model: type[Any], columns: list[str], raw: bytes, what: str) -> Any:
    return to_model(model, columns, raw, what)


def reconcile(
    pos: Path,
    promotions: Path,
    claims: Path,
    tolerances: Tolerances,
    decisions: tuple[Path, ...] = (),
) -> Reconciliation:
    """``decisions``: files of analyst decisions (docs/claims.md, "Analyst approval")."""
    out = Reconciliation()
    state = DictState()
    rebates = RebateEngine(state)
    engine = ClaimsEngine(state, RebateStateFacts(state), tolerances)
    offset = 0
    for path, model in ((promotions, Agreement), (pos, SaleLine)):
        for rid, parsed in _rows(path, functools.partial(_model_row, model), out.errors):
            offset += 1
            ref = RecordRef(record_id=rid, offset=offset)
            try:
                if isinstance(parsed, Agreement):
                    rebates.apply_agreement(parsed, ref)
                elif isinstance(parsed, SaleLine):
                    rebates.apply_sale(parsed, ref)
            except RecordError as exc:
                out.errors.append(exc.message)
    rebates.settle()
    read_844 = []
    if _is_x12(claims):
        with claims.open("rb") as f:
            for item in parse_claim_sets(X12Reader(f)):
                if isinstance(item, Fault):
                    out.errors.append(f"{claims.name}: {item.error.message}")
                    continue
                ts, claim = item
                rid = f"{claims.name}:{ts.position.segment_index}"
                engine.apply_header(claim.header, rid)
                engine.apply_lines([(line, f"{rid}:{n}") for n, line in enumerate(claim.lines)])
                read_844.append((claim.header.claim_id, claim.header.version, ts.control_number))
    else:
        for rid, row in _rows(claims, parse_claim_row, out.errors):
            if isinstance(row, ClaimHeader):
                engine.apply_header(row, rid)
            elif isinstance(row, ClaimDecision):
                engine.apply_decision(row, rid)
            else:
                engine.apply_lines([(row, rid)])
    for path in decisions:
        for rid, decision in _rows(path, parse_decision_row, out.errors):
            engine.apply_decision(decision, rid)
    engine.sweep()
    engine.settle()
    out.results = [
        result_of(state, c, v) for c, v in (state.get(store.INDEX_KEY) or {"c": []})["c"]
    ]
    for claim_id, version, control in read_844:
        result = result_of(state, claim_id, version)
        out.responses += write_849(result, verdicts(state, claim_id, version), control)
    return out


def result_of(state: DictState, claim_id: str, version: int) -> ClaimResult:
    """A claim version's latest result, from its state document."""
    doc = state.get(store.version_key(claim_id, version)) or store.new_version_doc()
    header = ClaimHeader.model_validate(doc["h"]) if doc["h"] else None
    claimed = header.claimed_amount if header else Decimal(0)
    ruling = ruling_of(doc.get(store.DECISION))
    approval = ruling if ruling is not None and ruling["a"] == Action.APPROVE else None
    return ClaimResult(
        claim_id,
        version,
        header.vendor_id if header else "",
        header.agreement_id if header else "",
        header.period if header else "",
        header.currency if header else "",
        claimed,
        Decimal(doc["accrued"]),
        ClaimStatus(doc["status"]),
        header.line_count if header else 0,
        doc["n"],
        dict(doc["failing"]),
        Decimal(doc["settled"]),
        doc["seq"],
        approval["by"] if approval else "",
        approved_amount(approval, claimed) if approval else None,
        approval["r"] if approval else "",
        *rejection_shown(ruling),
    )


def verdicts(state: DictState, claim_id: str, version: int) -> list[LineVerdict]:
    """Each line of a version with its published exception kind, in sale order."""
    return [LineVerdict(*line) for line in store.lines_in_sale_order(state, claim_id, version)]


def write_export(results: list[ClaimResult], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in results:
        writer.writerow(
            [
                r.claim_id,
                r.version,
                r.agreement_id,
                r.period,
                r.currency,
                r.claimed,
                r.accrued,
                r.difference,
                r.status.value,
                r.failing_text(),
                r.approved_by,
                "" if r.approved_amount is None else r.approved_amount,
                r.approval_reason,
                r.rejected_by,
                r.rejection_reason,
            ]
        )
