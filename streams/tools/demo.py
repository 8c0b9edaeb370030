"""`make demo`: the rebate, trade matching, three-way (EDI) and lab inventory pipelines
end to end on the local broker, with a self-check.

Starts the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), resets the demo's
topics, ingests the sample sales and then the agreements (master data arriving late on
purpose), the sample trades and confirmations, the sample X12 orders and freight invoices,
and the sample lab inventory manifests (CSV and Excel), drains the worker (a batch run:
end of input closes every window), writes the ledger, matches, exceptions and audit CSVs
and checks the ledger, the pairing, the three-way results and the inventory against the
plain reference computations, exports the acknowledgements sent for the sample X12 groups
(one 997/999 per partner group, checked), checks the sample vendor claims the worker
decided against theirs and the in-process reconciliation (docs/claims.md); then delivers
the ledger, matches and exceptions to the local PostgreSQL and checks it against the topics.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from streams.broker.server import ensure_broker
from streams.domain.claims.results import ClaimResult
from streams.domain.matching.rules import Tolerances
from streams.domain.threeway.reference import rate_tables
from streams.domain.threeway.rules import PriceTolerance, RateAudit
from streams.errors import ReconError
from streams.formats.claims import tolerances as claim_tolerances
from streams.ingest.producer import ingest_file
from streams.kafka.topics import create_topics, reset_app
from streams.ops.audit import FileAudit, audit, write_audit
from streams.ops.claims import reconcile as reconcile_claims
from streams.ops.claims import write_export as write_claims
from streams.ops.claims_export import read_claims
from streams.ops.ledger import read_ledger, write_export, write_totals
from streams.ops.matches import (
    exception_events,
    live_pairs,
    match_events,
    open_exceptions,
    own_parties,
    write_exceptions,
    write_matches,
)
from streams.ops.threeway_report import (
    check_against_reference,
    live_document_matches,
    open_threeway_exceptions,
    rate_rows,
)
from streams.settings import Settings
from streams.tools.batch import drain
from streams.tools.demo_acks import acks_report
from streams.tools.demo_delivery import postgres_report
from streams.tools.demo_inventory import ingest_manifests, inventory_report
from streams.tools.references import (
    claim_differences,
    differences,
    expected_matches,
    expected_totals,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # streams/tools/demo.py
out = Console()


def matching_report(settings: Settings, out_dir: Path) -> list[str]:
    """Write matches.csv and exceptions.csv, print a summary, return the differences
    from the reference pairing."""
    pairs = live_pairs(match_events(settings))
    found = open_exceptions(exception_events(settings))
    write_matches(pairs, out_dir / "matches.csv")
    write_exceptions(found, out_dir / "exceptions.csv", own_parties(settings))
    table = Table("outcome", "count", title="Trade matching")
    for kind in ("exact", "tolerance"):
        table.add_row(f"pair ({kind})", str(sum(p["match_type"] == kind for p in pairs)))
    trade_found = [e for e in found if e["record_type"] in ("trade", "confirmation")]
    for kind in sorted({e["kind"] for e in trade_found}):
        table.add_row(f"exception ({kind})", str(sum(e["kind"] == kind for e in trade_found)))
    out.print(table)

    tol = Tolerances.of(
        settings.match_quantity_tolerance,
        settings.match_price_tolerance,
        settings.match_time_tolerance_seconds,
    )
    want = expected_matches([EXAMPLES / "trades.csv"], [EXAMPLES / "confirmations.csv"], tol)
    got_pairs = {
        (p["trade_id"], p["trade_version"], p["confirm_id"], p["confirm_version"], p["match_type"])
        for p in pairs
    }
    got_exceptions = {
        (e["kind"], e["record_type"], e["record_id"], e["version"]) for e in trade_found
    }
    problems = [f"pair {p} missing" for p in sorted(want.pairs - got_pairs)]
    problems += [f"pair {p} unexpected" for p in sorted(got_pairs - want.pairs)]
    problems += [f"exception {e} missing" for e in sorted(want.exceptions - got_exceptions)]
    problems += [f"exception {e} unexpected" for e in sorted(got_exceptions - want.exceptions)]
    return problems


EDI_FILES = (EXAMPLES / "orders.edi", EXAMPLES / "freight.edi")
# Invoice INV1001 of orders.edi sent again in a new interchange, and INV1002 billed again
# against PO1001: duplicates by their business identity (docs/edi-controls.md); the first
# changes no three-way result, the second is a duplicate_conflict and never reaches PO1001
# (the reference below resolves identities the same way).
RESENT_FILE = EXAMPLES / "resent-invoice.edi"
RATES_FILE = EXAMPLES / "rates.csv"
DECISIONS_FILE = EXAMPLES / "claim_decisions.csv"


def threeway_report(settings: Settings) -> list[str]:
    """Print the three-way outcomes; return the differences from the reference."""
    table = Table("outcome", "count", title="Three-way match (EDI)")
    matches = live_document_matches(settings)
    table.add_row("matched (invoice lines, 210s)", str(len(matches)))
    found = open_threeway_exceptions(settings)
    for kind in sorted({e["kind"] for e in found}):
        table.add_row(f"exception ({kind})", str(sum(e["kind"] == kind for e in found)))
    out.print(table)
    tol = PriceTolerance(
        settings.threeway_price_tolerance_amount, settings.threeway_price_tolerance_percent
    )
    audit = RateAudit(
        rate_tables(rate_rows(RATES_FILE)),
        settings.freight_rate_tolerance,
        settings.freight_require_rate_table,
    )
    return check_against_reference(settings, (*EDI_FILES, RESENT_FILE), tol, audit)


def resent_report(rows: list[FileAudit]) -> list[str]:
    """The resent invoices are duplicates: counted, applied to nothing."""
    row = next((r for r in rows if Path(r.source_file).name == RESENT_FILE.name), None)
    if row is None:
        return [f"{RESENT_FILE.name}: not in the audit"]
    out.print(
        f"resent invoices ({RESENT_FILE.name}: INV1001 again, INV1002 against PO1001): "
        f"{row.duplicate} duplicate, {row.applied} applied"
    )
    if row.read and row.duplicate == row.read:
        return []
    return [f"{RESENT_FILE.name}: {row.duplicate} of {row.read} sets duplicate, expected all"]


def analyst_ruling(r: ClaimResult) -> str:
    if r.approved_by:
        return f"approved {r.approved_amount:,.2f} by {r.approved_by}"
    return f"rejected by {r.rejected_by}" if r.rejected_by else ""


def claims_report(settings: Settings, out_dir: Path) -> list[str]:
    """The sample claims as the worker decided them (read back from the topics, like
    `recon claims export`); print them, write claims.csv and return the differences from
    the plain reference and from the in-process reconciliation (docs/claims.md)."""
    pos, promotions, claims = (EXAMPLES / n for n in ("pos.csv", "promotions.csv", "claims.csv"))
    view = read_claims(settings)
    results = view.sorted_results()
    offline = reconcile_claims(
        pos, promotions, claims, claim_tolerances(settings), (DECISIONS_FILE,)
    ).results
    # the write sequence counts evaluations, which differ with the batches: not compared
    same = [replace(r, seq=0) for r in results] == [replace(r, seq=0) for r in offline]
    problems = [] if same else ["claims: the worker's differ from in process"]
    settled = view.settled()
    problems += [
        f"claim {r.claim_id} v{r.version}: settled {r.settled}, ledger entries sum "
        f"{settled.get((r.claim_id, r.version), 0)}"
        for r in results
        if settled.get((r.claim_id, r.version), 0) != r.settled
    ]
    table = Table(
        "claim",
        "version",
        "agreement",
        "period",
        "claimed",
        "accrued",
        "status",
        "failing lines",
        "analyst",
        title="Vendor claims",
    )
    for r in results:
        table.add_row(
            r.claim_id,
            str(r.version),
            r.agreement_id,
            r.period,
            f"{r.claimed:,.2f}",
            f"{r.accrued:,.2f}",
            r.status.value,
            r.failing_text(),
            analyst_ruling(r),
        )
    out.print(table)
    with (out_dir / "claims.csv").open("w", encoding="utf-8") as f:
        write_claims(results, f)
    return problems + claim_differences(
        results, pos, promotions, claims, claim_tolerances(settings), DECISIONS_FILE
    )


def run(out_dir: Path) -> int:
    # A batch run: end of input closes every matching window (the worker is a subprocess).
    os.environ.setdefault("RECON_CLOSE_WINDOWS_AT_END_OF_INPUT", "true")
    os.environ.setdefault("RECON_MATCH_OWN_PARTIES", "ACME-ENERGY")
    # The sample sales are dated 2026: a dedupe horizon would start refusing them as the
    # years pass (their reference ledger is fixed), so the demo keeps every mark.
    os.environ.setdefault("RECON_DEDUPE_HORIZON_DAYS", "0")
    base = Settings()
    # metrics on any free port: a batch run must not collide with a running worker's 9108
    settings = base.with_overrides(
        topic_prefix="demo", app_id="recon-demo", home=base.home / "demo", metrics_port=0
    )
    # The broker of the default home, not of the demo's: `make broker-stop` stops it.
    if ensure_broker(base) is not None:
        out.print(
            f"[bold]broker[/]: local Kafka on {base.bootstrap} "
            "(left running for `recon` commands; `make broker-stop` stops it)"
        )
    reset_app(settings)
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    create_topics(settings)
    pos, promotions = EXAMPLES / "pos.csv", EXAMPLES / "promotions.csv"
    progress = sys.stderr.isatty()
    out.print(ingest_file(settings, pos, "pos", progress=progress).summary())
    out.print(ingest_file(settings, promotions, "promotions", progress=progress).summary())
    for kind in ("trades", "confirmations"):
        out.print(
            ingest_file(settings, EXAMPLES / f"{kind}.csv", kind, progress=progress).summary()
        )
    for path in (*EDI_FILES, RESENT_FILE):
        out.print(ingest_file(settings, path, "edi", progress=progress).summary())
    out.print(ingest_file(settings, RATES_FILE, "rates", progress=progress).summary())
    claims = EXAMPLES / "claims.csv"
    out.print(ingest_file(settings, claims, "claims", progress=progress).summary())
    # an analyst's approval of the disputed CLM-200 and rejection of the disputed CLM-400
    # (docs/claims.md, "Analyst approval")
    out.print(ingest_file(settings, DECISIONS_FILE, "claims", progress=progress).summary())
    for result in ingest_manifests(settings):
        for warning in result.warnings:
            out.print(f"warning: {warning}")
        out.print(result.summary())
    drain(settings)

    ledger = read_ledger(settings)
    write_totals(ledger, out_dir / "ledger_totals.csv")
    write_export(ledger, out_dir / "ledger_entries.csv")
    rows = audit(settings)
    write_audit(rows, out_dir / "audit.csv")

    totals = Table("agreement", "period", "currency", "amount", "entries", title="Ledger totals")
    for (agreement, period, currency), (amount, count) in ledger.totals().items():
        totals.add_row(agreement, period, currency, f"{amount:,.2f}", str(count))
    out.print(totals)
    files = Table(
        "file", "read", "applied", "duplicate", "dead-lettered", "reconciles", title="Audit"
    )
    for r in rows:
        files.add_row(
            r.source_file,
            str(r.read),
            str(r.applied),
            str(r.duplicate),
            str(r.dead_lettered),
            "yes" if r.reconciles else "NO",
        )
    out.print(files)

    problems = differences(ledger.accruals(), expected_totals([pos], [promotions]))
    problems += matching_report(settings, out_dir)
    problems += threeway_report(settings)
    problems += resent_report(rows)
    problems += acks_report(settings, (*EDI_FILES, RESENT_FILE), out_dir, out)
    problems += inventory_report(settings, out)
    problems += claims_report(settings, out_dir)
    problems += postgres_report(base, settings, out)
    problems += [f"{r.source_file}: audit does not reconcile" for r in rows if not r.reconciles]
    for problem in problems:
        out.print(f"[red]MISMATCH[/] {problem}")
    if problems:
        return 1
    out.print(
        f"[green]ledger equals the reference to the cent; the pairing, the three-way "
        f"results and the lab inventory equal the references; the resent invoices are "
        f"duplicates (INV1002 billed against PO1001 a duplicate_conflict); one ack per "
        f"partner group; "
        f"PostgreSQL equals the topics; "
        f"every file reconciles.[/] CSVs in {out_dir}/ (ledger_totals, ledger_entries, "
        f"matches, exceptions, audit; acks/ as X12); "
        f"`recon dlq list` with RECON_TOPIC_PREFIX=demo shows the dead letters."
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args()
    try:
        sys.exit(run(args.out))
    except ReconError as exc:
        out.print(f"[bold red]demo failed:[/] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
