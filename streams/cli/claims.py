"""`recon claims`: vendor claims against accruals over files, the worker's claims, and
analysts' decisions on them (docs/claims.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from streams.cli.common import reports_errors, settings_from
from streams.domain.claims.approvals import Action
from streams.formats.claims import tolerances
from streams.formats.x12.claims import interchange
from streams.ops.claims import reconcile, write_export
from streams.ops.claims_decide import make_decision, publish_decision, vendor_for
from streams.ops.claims_export import read_claims, read_responses

app = typer.Typer(help="Vendor rebate claims against accruals.", no_args_is_help=True)


@app.callback()
def claims() -> None:
    """Vendor rebate claims against accruals."""  # keeps `reconcile` a sub-command


@app.command("reconcile")
@reports_errors
def reconcile_cmd(
    ctx: typer.Context,
    pos: Annotated[Path, typer.Option("--pos", help="POS sales CSV.", exists=True)],
    promotions: Annotated[Path, typer.Option("--promotions", help="Agreements CSV.", exists=True)],
    claims_file: Annotated[
        Path, typer.Option("--claims", help="Claims CSV, or X12 844s.", exists=True)
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Write the table as CSV.")] = None,
    responses: Annotated[
        Path | None, typer.Option("--responses-849", help="Write an 849 per 844 read.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on a bad record.")] = False,
    decisions: Annotated[
        Path | None,
        typer.Option("--decisions", help="Analysts' approvals (decisions CSV).", exists=True),
    ] = None,
) -> None:
    """Reconcile the claims of a file against the accruals of POS and promotions files,
    in process (no broker): one row per claim version. Bad records are listed on stderr."""
    result = reconcile(
        pos,
        promotions,
        claims_file,
        tolerances(settings_from(ctx)),
        (decisions,) if decisions else (),
    )
    if out is None:
        write_export(result.results, sys.stdout)
    else:
        with out.open("w", encoding="utf-8") as f:
            write_export(result.results, f)
        typer.echo(f"{len(result.results)} claim versions -> {out}", err=True)
    if responses is not None:
        responses.write_bytes(interchange(result.responses))
    for error in result.errors:
        typer.echo(f"bad record: {error}", err=True)
    if result.errors and strict:
        raise typer.Exit(1)


@app.command("export")
@reports_errors
def export_cmd(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="Write the table as CSV.")] = None,
    responses: Annotated[
        Path | None,
        typer.Option("--responses-849", help="Write the latest 849 of each 844 received."),
    ] = None,
) -> None:
    """The claims as the worker decided them, read from the claim results topic: one row
    per claim version, the columns of `recon claims reconcile`."""
    settings = settings_from(ctx)
    view = read_claims(settings)
    results = view.sorted_results()
    if responses is not None:
        answered = read_responses(settings)
        responses.write_bytes(b"".join(answered.values()))
        typer.echo(f"{len(answered)} 849 responses -> {responses}", err=True)
    if out is None:
        write_export(results, sys.stdout)
        return
    with out.open("w", encoding="utf-8") as f:
        write_export(results, f)
    typer.echo(f"{len(results)} claim versions -> {out}", err=True)


ClaimArg = Annotated[str, typer.Argument(metavar="CLAIM_ID", help="The vendor's claim id.")]
VersionOpt = Annotated[int, typer.Option("--version", help="The claim version decided.")]
ByOpt = Annotated[str, typer.Option("--by", help="The analyst deciding.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept with the claim).")]
VendorOpt = Annotated[
    str | None,
    typer.Option("--vendor", help="The claim's vendor (default: from the claim results)."),
]


def _decide(
    ctx: typer.Context,
    action: Action,
    claim_id: str,
    version: int,
    by: str,
    reason: str,
    vendor: str | None,
    amount: str | None = None,
) -> None:
    settings = settings_from(ctx)
    decision = make_decision(
        action, claim_id, version, vendor_for(settings, claim_id, vendor), by, reason, amount
    )
    result = publish_decision(settings, decision)
    typer.echo(
        f"{action.value} of claim {claim_id} version {version} (vendor {decision.vendor_id}) "
        f"published to {result.topic} as {result.source_file} (run {result.run_id})"
    )


@app.command("approve")
@reports_errors
def approve_cmd(
    ctx: typer.Context,
    claim_id: ClaimArg,
    version: VersionOpt,
    by: ByOpt,
    reason: ReasonOpt,
    amount: Annotated[
        str | None,
        typer.Option("--amount", help="What settles (default: the claimed amount)."),
    ] = None,
    vendor: VendorOpt = None,
) -> None:
    """Approve one claim version: the worker settles it (the approved amount: positive, in
    cents, at most the claimed one) unless it is superseded, incomplete or claims a sale
    another claim owns, which opens a claim_approval_invalid exception instead."""
    _decide(ctx, Action.APPROVE, claim_id, version, by, reason, vendor, amount)


@app.command("reject")
@reports_errors
def reject_cmd(
    ctx: typer.Context,
    claim_id: ClaimArg,
    version: VersionOpt,
    by: ByOpt,
    reason: ReasonOpt,
    vendor: VendorOpt = None,
) -> None:
    """Reject one claim version: nothing settles for it (what it settled, matched or
    approved, is reversed) and its status is rejected, unless it is superseded or
    incomplete, which opens a claim_approval_invalid exception instead."""
    _decide(ctx, Action.REJECT, claim_id, version, by, reason, vendor)


@app.command("withdraw-approval")
@reports_errors
def withdraw_cmd(
    ctx: typer.Context,
    claim_id: ClaimArg,
    version: VersionOpt,
    by: ByOpt,
    reason: ReasonOpt,
    vendor: VendorOpt = None,
) -> None:
    """Withdraw the approval or rejection of one claim version: the version settles as the
    engine decides again (matched: the claimed amount; otherwise nothing)."""
    _decide(ctx, Action.WITHDRAW, claim_id, version, by, reason, vendor)
