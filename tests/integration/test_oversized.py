"""Issue 20: one record too large for Kafka never holds a file hostage. It is dead-lettered
at ingest (oversized_record) and counted, so the file reconciles on its first ingest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from streams.cli import audit as audit_cli
from streams.cli import dlq as dlq_cli
from streams.ingest.oversized import ORIGINAL_PREFIX_BYTES
from streams.ingest.producer import ingest_file
from streams.kafka.topics import create_topics
from streams.ops.audit import audit
from streams.ops.dlq import dlq_records
from streams.ops.redrive import redrive
from streams.settings import Settings
from streams.tools.batch import drain

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HUGE_LINE = b"T-HUGE,1,ST1,INI-7,INITECH,1," + b"9" * (1 << 20) + b",USD,2026-03-01T08:15:00Z"


def cli(settings: Settings, *args: str) -> str:
    """Stdout of `recon dlq ...` or `recon audit ...` on these settings."""
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = settings

    app.add_typer(dlq_cli.app, name="dlq")
    app.command("audit")(audit_cli.audit)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def big_850(lines: int) -> bytes:
    """One interchange holding one valid 850 of ``lines`` PO1 lines."""
    body = [b"BEG*00*SA*PO9999**20241101", b"CUR*BY*USD", b"N1*ST*ACME DC 12*92*0012"]
    body += [b"PO1*%d*1*EA*4.25*PE*BP*ACM-%d*VP*V-ACM-%d" % (n, n, n) for n in range(lines)]
    body += [b"CTT*%d*%d" % (lines, lines)]
    segments = [
        b"ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*WIDGETWORKS    *241104*0900*^"
        b"*00501*000009999*0*P*>",
        b"GS*PO*ACMERETAIL*WIDGETWORKS*20241104*0900*9999*X*005010",
        b"ST*850*0001",
        *body,
        b"SE*%d*0001" % (len(body) + 2),
        b"GE*1*9999",
        b"IEA*1*000009999",
    ]
    return b"~\n".join(segments) + b"~\n"


def test_a_1_mb_line_and_a_huge_x12_set_do_not_block_their_files(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    settings = isolated_settings
    create_topics(settings)
    header, *rows = (EXAMPLES / "pos.csv").read_bytes().splitlines(keepends=True)
    pos = tmp_path / "pos.csv"
    pos.write_bytes(header + b"".join(rows[:10]) + HUGE_LINE + b"\n" + b"".join(rows[10:]))
    edi = tmp_path / "orders.edi"
    edi.write_bytes((EXAMPLES / "orders.edi").read_bytes() + big_850(3000))

    sales = ingest_file(settings, pos, "pos")  # default limits: the 1 MB line is over them
    ingest_file(settings, EXAMPLES / "promotions.csv", "promotions")
    orders = ingest_file(settings.with_overrides(max_record_bytes=65_536), edi, "edi")
    assert (sales.rows_read, sales.rows_published, sales.rows_dead_lettered) == (
        len(rows) + 1,
        len(rows),
        1,
    )
    assert (orders.rows_dead_lettered, orders.rows_read - orders.rows_published) == (1, 1)
    drain(settings)

    files = {r.source_file: r for r in audit(settings)}
    assert files["pos.csv"].reconciles and files["pos.csv"].read == len(rows) + 1
    assert files["orders.edi"].reconciles and files["orders.edi"].read == orders.rows_read
    oversized = {r["source_file"]: r for r in dlq_records(settings, "oversized_record")}
    line = oversized["pos.csv"]
    assert line["source_line"] == 12 and line["stage"] == "ingest"
    assert bytes(line["original"]) == HUGE_LINE[:ORIGINAL_PREFIX_BYTES]
    assert f"the record of {len(HUGE_LINE):,} bytes" in line["error"]
    x12_set = oversized["orders.edi"]
    assert bytes(x12_set["original"]).startswith(b"ISA*00*")
    assert x12_set["source_line"] == 139  # its ST: orders.edi has 136 segments, then ISA, GS
    # Their DLQ records hold a prefix only: a redrive would publish a truncated record.
    assert redrive(settings, category="oversized_record").redriven == []

    # What an operator sees, piped: the two records as JSON lines, the audit as CSV.
    listed = cli(settings, "dlq", "list", "--category", "oversized_record", "--format", "json")
    rows = [json.loads(line) for line in listed.splitlines()]
    assert sorted((r["source_file"], r["stage"]) for r in rows) == [
        ("orders.edi", "ingest"),
        ("pos.csv", "ingest"),
    ]
    audited = cli(settings, "audit", "--format", "csv").splitlines()
    assert audited[0].endswith(",pending,reconciles")
    assert all(line.endswith(",0,True") for line in audited[1:]) and len(audited) == 4
