"""`recon ingest edi` records: one Avro edi_document per set or fault, keyed by PO number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.domain.models.edi import ShipNotice
from streams.formats import avro
from streams.formats.edi_source import EdiRecords
from streams.formats.x12 import parse_file

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def records(name: str) -> list[tuple[int, bytes, dict[str, object]]]:
    with EdiRecords(EXAMPLES / name) as source:
        return [(pos, key, avro.decode("edi_document", value)) for pos, key, value in source]


def test_one_record_per_set_keyed_so_an_orders_documents_meet() -> None:
    found = records("orders.edi")
    assert len(found) == 14
    by_key: dict[bytes, list[object]] = {}
    for _, key, rec in found:
        by_key.setdefault(key, []).append(rec["set_id"])
    assert by_key[b"PO1001"] == ["850", "856", "810"]
    assert by_key[b"PO1005"] == ["810"]


def test_the_raw_bytes_parse_alone_to_the_same_document(tmp_path: Path) -> None:
    (pos, key, rec) = next(r for r in records("orders.edi") if r[2]["set_id"] == "856")
    assert key == b"PO1001" and pos == rec["segment_index"]
    path = tmp_path / "one.edi"
    path.write_bytes(rec["raw"])  # type: ignore[arg-type]
    (alone,) = list(parse_file(path))
    assert alone.idempotency_key == rec["idempotency_key"]  # type: ignore[union-attr]
    assert ShipNotice.model_validate(json.loads(str(rec["document"]))) == alone.document  # type: ignore[union-attr]


def test_a_broken_set_is_published_with_its_error_and_position() -> None:
    (broken,) = [r for r in records("orders.edi") if r[2]["error"] is not None]
    pos, _, rec = broken
    assert pos == rec["segment_index"] == 134
    assert rec["error"] == {
        "category": "schema_violation",
        "scope": "transaction_set",
        "message": "SE02 '0009' does not match ST02 '0001' (segment 134 at byte 2966)",
        "segment_id": "SE",
        "element": "SE02",
    }
    assert rec["set_id"] == "810" and b"INV1006" in rec["raw"]  # type: ignore[operator]


def test_freight_invoices_are_keyed_by_carrier_and_routed_by_pro_number() -> None:
    """The carrier's key (its rate rows' key: same partition); the state row is the PRO's."""
    found = [(key, rec["routing_key"]) for _, key, rec in records("freight.edi")]
    assert found == [(b"210:FDEG", "210:PRO501"), (b"210:FDEG", "210:PRO502")]
