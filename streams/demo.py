"""`make demo`: the rebate pipeline end to end on the local broker, with a self-check.

Starts the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), resets the demo's
topics, ingests the sample sales and then the agreements (master data arriving late on
purpose), drains the worker, writes the ledger and audit CSVs and checks the ledger
against the plain reference computation to the cent.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from streams.broker.server import ensure_broker
from streams.errors import ReconError
from streams.ingest.producer import ingest_file
from streams.ledger.check import differences, expected_totals
from streams.ledger.reader import read_ledger, write_export, write_totals
from streams.ops.audit import audit, write_audit
from streams.ops.batch import drain
from streams.ops.topics import create_topics, reset_app
from streams.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
out = Console()


def run(out_dir: Path) -> int:
    base = Settings()
    # metrics on any free port: a batch run must not collide with a running worker's 9108
    settings = base.with_overrides(
        topic_prefix="demo", app_id="recon-demo", home=base.home / "demo", metrics_port=0
    )
    if ensure_broker(settings) is not None:
        out.print(f"[bold]broker[/]: local Kafka on {settings.bootstrap}")
    reset_app(settings)
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    create_topics(settings)
    pos, promotions = EXAMPLES / "pos.csv", EXAMPLES / "promotions.csv"
    progress = sys.stderr.isatty()
    out.print(ingest_file(settings, pos, "pos", progress=progress).summary())
    out.print(ingest_file(settings, promotions, "promotions", progress=progress).summary())
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

    problems = differences(ledger, expected_totals([pos], [promotions]))
    problems += [f"{r.source_file}: audit does not reconcile" for r in rows if not r.reconciles]
    for problem in problems:
        out.print(f"[red]MISMATCH[/] {problem}")
    if problems:
        return 1
    out.print(
        f"[green]ledger equals the reference to the cent; every file reconciles.[/] "
        f"CSVs in {out_dir}/ (ledger_totals, ledger_entries, audit); "
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
