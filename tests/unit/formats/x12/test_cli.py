"""`recon edi parse FILE`: JSON lines on stdout, exit status 1 when anything failed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from streams.cli.edi import app

from .helpers import fixture

pytestmark = pytest.mark.unit

runner = CliRunner()


def lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_parse_prints_one_json_line_per_set() -> None:
    result = runner.invoke(app, ["parse", str(fixture("quirk_groups_versions.edi"))])
    assert result.exit_code == 0, result.output
    found = lines(result.stdout)
    assert [line["type"] for line in found] == [
        "850", "850", "856", "856", "810", "810", "210", "210", "997"
    ]  # fmt: skip
    first = found[0]
    assert set(first) == {
        "type",
        "control_number",
        "document_id",
        "idempotency_key",
        "interchange",
        "group",
        "position",
        "document",
    }
    assert first["control_number"] == "0001" and first["document_id"] == "4500012345"
    assert first["interchange"]["control_number"] == "000000081"  # type: ignore[index]
    assert first["group"]["version"] == "004010"  # type: ignore[index]
    assert first["position"]["segment_index"] == 3  # type: ignore[index]
    assert first["document"]["lines"][0]["unit_price"] == "4.25"  # type: ignore[index]
    assert "9 document(s), 0 error(s)" in result.stderr


def test_errors_are_lines_too_and_exit_1() -> None:
    result = runner.invoke(app, ["parse", "--no-summary", str(fixture("mismatch_se01_count.edi"))])
    assert result.exit_code == 1
    found = lines(result.stdout)
    assert [("error" in line) for line in found] == [False, True, False]
    error = found[1]["error"]
    assert isinstance(error, dict)
    assert error["category"] == "schema_violation" and error["element"] == "SE01"
    assert error["position"] == {"byte_offset": 930, "segment_index": 32}
    assert "SE01" in str(error["message"])
    assert result.stderr == ""


def test_a_missing_file_is_a_usage_error() -> None:
    result = runner.invoke(app, ["parse", "/no/such/file.edi"])
    assert result.exit_code == 2
