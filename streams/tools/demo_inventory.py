"""The demo's lab inventory manifests (docs/inventory.md): ingest the sample CSV and
Excel manifests, then print the inventory and quarantine tables and check the inventory
against the plain reference computed from the files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from streams.domain.inventory.reference import final_inventory
from streams.domain.inventory.rows import COLUMNS
from streams.formats.csv_source import CsvRecords
from streams.formats.xlsx_source import XlsxRecords
from streams.ingest.producer import IngestResult, ingest_file
from streams.ops.inventory import current_inventory, normalised
from streams.ops.quarantine import quarantine_row, quarantined
from streams.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The sample manifests and their times: April's workbook supersedes March's CSV.
MANIFESTS: tuple[tuple[Path, datetime], ...] = (
    (EXAMPLES / "lab-inventory-2026-03.csv", datetime(2026, 3, 1, tzinfo=UTC)),
    (EXAMPLES / "lab-inventory-2026-04.xlsx", datetime(2026, 4, 1, tzinfo=UTC)),
)


def ingest_manifests(
    settings: Settings, manifests: tuple[tuple[Path, datetime], ...] = MANIFESTS
) -> list[IngestResult]:
    return [ingest_file(settings, path, "inventory", manifest_at=at) for path, at in manifests]


def expected_inventory(
    manifests: tuple[tuple[Path, datetime], ...] = MANIFESTS,
) -> dict[str, dict[str, Any]]:
    """The final inventory computed plainly from the files' valid rows."""
    versions = []
    for path, at in manifests:
        source = XlsxRecords(path) if path.suffix.lower() == ".xlsx" else CsvRecords(path)
        with source:
            at_micros = round(at.timestamp() * 1_000_000)
            for record in source:
                row = normalised(source.columns, record.raw)
                if row is not None:
                    versions.append((row, at_micros))
    return final_inventory(versions)


def inventory_report(
    settings: Settings, out: Console, manifests: tuple[tuple[Path, datetime], ...] = MANIFESTS
) -> list[str]:
    """Print the inventory and quarantine tables; return the differences between the
    inventory topic and the reference."""
    found = current_inventory(settings)
    table = Table(*COLUMNS, "version", title="Lab inventory (latest manifest per asset)")
    for event in found.values():
        table.add_row(
            *(str(event[c]) for c in COLUMNS[:-1]),
            event["acquisition_date"].isoformat(),
            f"{event['kind']} {event['manifest_at']:%Y-%m-%d}",
        )
    out.print(table)
    held = Table("file", "line", "asset", "field", "error", title="Quarantine")
    for rec in quarantined(settings):
        row = quarantine_row(rec, False)
        held.add_row(
            str(row["source_file"]),
            str(row["source_line"]),
            f"{row['asset_id']}:{row['grant_code']}",
            str(row["field"]),
            str(row["error"]).split(": ", 1)[-1][:90],
        )
    out.print(held)
    want = expected_inventory(manifests)
    got = {
        key: {c: e[c] for c in COLUMNS} | {"acquisition_date": e["acquisition_date"].isoformat()}
        for key, e in found.items()
    }
    problems = [f"inventory {key}: {got.get(key)} != {want.get(key)}" for key in
                sorted(set(want) | set(got)) if got.get(key) != want.get(key)]  # fmt: skip
    return problems
