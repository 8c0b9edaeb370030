"""`recon claims approve` / `reject` / `withdraw-approval`: the decision published, and a bad value
refused before anything is published (docs/claims.md, "Analyst approval")."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from streams.cli import claims as claims_cli
from streams.domain.claims.approvals import Action, ClaimDecision
from streams.formats.claims import parse_claim_row
from streams.formats.csv_source import read_csv_records
from streams.ingest.producer import IngestResult
from streams.ops.claims_decide import file_name, make_decision, write_decisions

pytestmark = pytest.mark.unit


def cli(monkeypatch: pytest.MonkeyPatch, published: list[ClaimDecision]) -> typer.Typer:
    def publish(settings: Any, decision: ClaimDecision) -> IngestResult:
        published.append(decision)
        return IngestResult(
            "r1", file_name(decision), "ab", "claims-csv", "t.raw.claims", 1, 1, 90, 0.1
        )

    monkeypatch.setattr(claims_cli, "publish_decision", publish)
    app = typer.Typer()
    app.callback()(lambda: None)
    app.add_typer(claims_cli.app, name="claims")
    return app


def test_approve_publishes_one_decision_of_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[ClaimDecision] = []
    args = ["claims", "approve", "CLM-200", "--version", "1", "--by", "ana"]
    args += ["--reason", "per call", "--amount", "121.67", "--vendor", "INITECH"]
    result = CliRunner().invoke(cli(monkeypatch, published), args)
    assert result.exit_code == 0, result.output
    (d,) = published
    assert (d.record, d.claim_id, d.version, d.vendor_id, d.amount, d.decided_by) == (
        Action.APPROVE,
        "CLM-200",
        1,
        "INITECH",
        Decimal("121.67"),
        "ana",
    )
    assert "approve of claim CLM-200 version 1 (vendor INITECH) published" in result.stdout
    withdraw = ["claims", "withdraw-approval", "CLM-200", "--version", "1", "--by", "bo"]
    withdraw += ["--reason", "error", "--vendor", "INITECH"]
    assert CliRunner().invoke(cli(monkeypatch, published), withdraw).exit_code == 0
    assert (published[-1].record, published[-1].amount) == (Action.WITHDRAW, None)
    reject = ["claims", "reject", "CLM-400", "--version", "1", "--by", "bo"]
    reject += ["--reason", "not owed", "--vendor", "ACME"]
    result = CliRunner().invoke(cli(monkeypatch, published), reject)
    assert result.exit_code == 0, result.output
    assert (published[-1].record, published[-1].claim_id, published[-1].amount) == (
        Action.REJECT,
        "CLM-400",
        None,
    )
    assert "reject of claim CLM-400 version 1 (vendor ACME) published" in result.stdout


def test_a_bad_amount_is_refused_before_publishing(monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[ClaimDecision] = []
    args = ["claims", "approve", "CLM-200", "--version", "1", "--by", "ana", "--reason", "x"]
    args += ["--amount", "12.345", "--vendor", "INITECH"]
    result = CliRunner().invoke(cli(monkeypatch, published), args)
    assert result.exit_code == 1 and published == []
    assert "approve of claim CLM-200 version 1: amount: amount 12.345 has more than 2" in (
        " ".join(result.output.split())
    )


def test_the_decision_file_reads_back_as_the_decision(tmp_path: Path) -> None:
    d = make_decision(Action.APPROVE, "CLM/7 x", 2, "V1", "ana", 'said "ok", twice', "5")
    assert file_name(d).startswith("approve-CLM_7_x-v2-")
    path = tmp_path / file_name(d)
    write_decisions(path, [d])
    header, rows = read_csv_records(path)
    (rec,) = list(rows)
    assert parse_claim_row(header.split(","), rec.raw, "x") == d
