"""Envelope nesting, control numbers and counts: a broken envelope faults alone, reading goes on."""

from __future__ import annotations

import io

import pytest

from streams.errors import Category
from streams.formats.x12 import Fault, TransactionSet, X12Reader, read_transaction_sets

from .helpers import docs, faults, fixture, interchange, parse_bytes, parse_fixture, x12_set

pytestmark = pytest.mark.unit

SCHEMA, PARSE = Category.SCHEMA_VIOLATION, Category.PARSE_ERROR


def only_fault(name: str) -> Fault:
    found = faults(parse_fixture(name))
    assert len(found) == 1, [f.error.message for f in found]
    return found[0]


@pytest.mark.parametrize(
    ("name", "scope", "element", "value", "documents"),
    [
        ("mismatch_isa13_iea02.edi", "interchange", "IEA02", "000000999", 3),
        ("mismatch_iea01_count.edi", "interchange", "IEA01", "1", 3),
        ("mismatch_gs06_ge02.edi", "group", "GE02", "999", 3),
        ("mismatch_ge01_count.edi", "group", "GE01", "3", 3),
        ("mismatch_st02_se02.edi", "transaction_set", "SE02", "0099", 2),
        ("mismatch_se01_count.edi", "transaction_set", "SE01", "5", 2),
    ],
)
def test_a_control_mismatch_breaks_that_envelope_only(
    name: str, scope: str, element: str, value: str, documents: int
) -> None:
    items = parse_fixture(name)
    fault = only_fault(name)
    assert fault.category is Category.SCHEMA_VIOLATION
    assert (fault.scope, fault.error.element, fault.error.value) == (scope, element, value)
    assert fault.error.segment_id == element[:-2]
    assert fault.position is not None and fault.position.segment_index > 1
    data = fixture(name).read_bytes()
    assert data[fault.position.byte_offset :].startswith(element[:-2].encode())
    assert len(docs(items)) == documents  # every other set of the file is parsed


def test_a_set_fault_carries_the_sets_original_bytes() -> None:
    fault = only_fault("mismatch_st02_se02.edi")
    assert (fault.set_id, fault.control_number) == ("850", "0002")
    assert fault.raw.startswith(b"ST*850*0002~") and fault.raw.endswith(b"SE*15*0099~")
    assert fault.interchange is not None and fault.interchange.control_number == "000000141"
    assert fault.group is not None and fault.group.control_number == "141"


def test_trailer_faults_name_their_envelope() -> None:
    fault = only_fault("mismatch_gs06_ge02.edi")
    assert fault.group is not None and fault.group.control_number == "122"
    assert fault.raw == b"GE*1*999~"
    fault = only_fault("mismatch_isa13_iea02.edi")
    assert fault.interchange is not None and fault.interchange.control_number == "000000102"
    assert fault.group is None


def test_a_malformed_isa_is_a_parse_error_and_the_next_interchange_is_read() -> None:
    items = parse_fixture("recovery_malformed_isa.edi")
    assert [type(i).__name__ for i in items] == ["Fault", "ParsedDocument", "Fault"]
    first, last = faults(items)
    assert first.category is PARSE and first.scope == "interchange"
    assert "ISA09" in first.error.message and first.position is not None
    assert first.position.byte_offset == 0
    assert first.raw.startswith(b"ISA*00*") and b"IEA*1*000000300" in first.raw
    assert last.category is PARSE and "expected an ISA segment" in last.error.message


def test_garbage_a_stray_segment_and_a_missing_se() -> None:
    items = parse_fixture("recovery_garbage_and_missing_se.edi")
    kinds = [(f.category, f.scope) for f in faults(items)]
    assert kinds == [
        (SCHEMA, "segment"),  # NTE between two sets
        (PARSE, "transaction_set"),  # a garbled line inside set 0002
        (SCHEMA, "transaction_set"),  # set 0003 has no SE: the next ST closes it
    ]
    stray, garbled, truncated = faults(items)
    assert stray.error.segment_id == "NTE"
    assert garbled.control_number == "0002" and b"??garbled line??" in garbled.raw
    assert truncated.control_number == "0003" and "has no SE" in truncated.error.message
    assert [d.transaction_set.control_number for d in docs(items)] == ["0001", "0004"]


def test_missing_trailers_at_the_end_of_the_file() -> None:
    data = interchange(x12_set("850", "BEG*00*SA*A**20240101"))
    cut = data[: data.index(b"SE*")]
    found = faults(parse_bytes(cut))
    assert [f.scope for f in found] == ["transaction_set", "group", "interchange"]
    assert all("the file ends" in f.error.message for f in found)


def test_envelope_headers_with_missing_elements() -> None:
    ok = x12_set("850", "BEG*00*SA*A**20240101")
    no_gs06 = interchange(ok).replace(b"*1*X*004010", b"**X*004010")
    fault = only_fault_of(no_gs06)
    assert (fault.scope, fault.error.element) == ("group", "GS06")
    assert b"GE*1*1" in fault.raw  # the skipped group's bytes travel with the fault
    no_st02 = interchange(["ST*850", *ok[1:]])
    assert only_fault_of(no_st02).error.element == "ST02"


def only_fault_of(data: bytes) -> Fault:
    found = faults(parse_bytes(data))
    assert len(found) == 1, [f.error.message for f in found]
    return found[0]


def test_a_huge_set_is_cut_without_a_flood_of_faults() -> None:
    body = "BEG*00*SA*A**20240101\n" + "NTE*GEN*LOREM IPSUM\n" * 200
    data = interchange(x12_set("850", body), x12_set("850", "BEG*00*SA*B**20240101", "0002"))
    reader = X12Reader(io.BytesIO(data), max_set_bytes=500)
    items = list(reader)
    assert [type(i).__name__ for i in items] == ["Fault", "TransactionSet"]
    assert "exceeds 500 bytes" in items[0].error.message  # type: ignore[union-attr]


def test_sets_know_their_interchange_group_and_position() -> None:
    items = list(read_transaction_sets(fixture("quirk_groups_versions.edi")))
    sets = [i for i in items if isinstance(i, TransactionSet)]
    assert [s.set_id for s in sets] == [
        "850",
        "850",
        "856",
        "856",
        "810",
        "810",
        "210",
        "210",
        "997",
    ]
    assert [s.group.version for s in sets[::2]] == [
        "004010",
        "005010",
        "004010",
        "005010",
        "005010",
    ]
    assert {s.interchange.control_number for s in sets} == {"000000081"}
    data = fixture("quirk_groups_versions.edi").read_bytes()
    for s in sets:
        assert data[s.position.byte_offset : s.end_offset].replace(b"\n", b"") == s.raw.replace(
            b"\n", b""
        )
        assert s.segments[0].id == "ST" and s.segments[-1].id == "SE"
    assert len({s.idempotency_key for s in sets}) == len(sets)


def test_the_same_interchange_twice_gives_the_same_keys() -> None:
    found = docs(parse_fixture("duplicate_interchange.edi"))
    keys = [d.idempotency_key for d in found]
    assert len(keys) == 4 and keys[:2] == keys[2:] and keys[0] != keys[1]
    assert [d.document_id for d in found] == ["4500012345"] * 4


def test_the_key_is_the_documented_hash() -> None:
    import hashlib

    parsed = docs(parse_fixture("quirk_tilde.edi"))[0]
    ident = "x12:WIDGETWORKS:ACMERETAIL:000000011:11:0001"
    assert parsed.idempotency_key == hashlib.sha256(ident.encode()).hexdigest()


@pytest.mark.parametrize(
    "name",
    [
        "quirk_tilde.edi",
        "quirk_newline_terminator.edi",
        "quirk_unicode_terminator.edi",
        "quirk_wrapped_80.edi",
        "quirk_non_padded_isa.edi",
        "layout_period_terminator_210.edi",
        "layout_pipe_terminator_850.edi",
    ],
)
def test_a_set_standalone_parses_to_the_same_document_and_key(name: str) -> None:
    for parsed in docs(parse_fixture(name)):
        again = parse_bytes(parsed.transaction_set.standalone_bytes())
        assert len(again) == 1 and not faults(again), [f.error.message for f in faults(again)]
        assert docs(again)[0].document == parsed.document
        assert docs(again)[0].idempotency_key == parsed.idempotency_key


def test_faults_serialise_to_json_ready_dicts() -> None:
    fault = only_fault("mismatch_se01_count.edi")
    data = fault.as_dict()
    assert data["category"] == "schema_violation" and data["scope"] == "transaction_set"
    assert data["position"] == fault.position.as_dict()  # type: ignore[union-attr]
    assert data["element"] == "SE01" and data["value"] == "5" and data["control_number"] == "0002"


def test_an_empty_group_is_a_fault_and_the_next_group_is_read() -> None:
    (isa, gs, *body, ge, iea) = (
        interchange(x12_set("810", "BIG*20241103*INV1**PO1\nIT1*1*2*EA*5.00**BP*P-1\nTDS*1000"))
        .decode()
        .splitlines()
    )
    empty = ["GS*IN*SENDER*RECEIVER*20240321*1015*5*X*004010~", "GE*0*5~"]
    text = "\n".join([isa, *empty, gs, *body, ge, iea.replace("IEA*1", "IEA*2")]) + "\n"
    items = parse_bytes(text.encode())
    (fault,) = faults(items)
    assert (fault.category, fault.scope, fault.error.element) == (SCHEMA, "group", "GE01")
    assert fault.group is not None and fault.group.control_number == "5"
    assert "group 5 has no transaction sets" in fault.error.message
    assert fault.raw.rstrip() == b"GE*0*5~"
    assert len(docs(items)) == 1
