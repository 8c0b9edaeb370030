"""Acknowledgement requests, one per received group, with X12's error codes; the 997/999
and TA1 we render read back through the project's own reader (docs/edi-controls.md)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from streams.formats import avro
from streams.formats.edi_source import document_record
from streams.formats.x12 import Fault, ParsedDocument, X12Reader
from streams.formats.x12.ack_x12 import (
    ReceivedTa1,
    group_status,
    read_functional_ack,
    render_functional_ack,
    render_ta1,
)
from streams.formats.x12.acks import AckCollector
from streams.formats.x12.tokenizer import tokenize

pytestmark = pytest.mark.unit

GOOD_810 = "BIG*20241103*INV1**PO1~IT1*1*2*EA*5.00**BP*P-1~TDS*1000~"
AT = 1_733_486_400_000_000  # 2024-12-06 12:00 UTC


def isa(control: int, version: str = "00501", ack: str = "0", sender: str = "WW") -> str:
    return (
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*ACME           *241104*0900*^*"
        f"{version}*{control:09d}*{ack}*P*>~"
    )


def st(body: str, st02: str = "0001", set_id: str = "810", count: int | None = None) -> str:
    n = body.count("~") + 2 if count is None else count
    return f"ST*{set_id}*{st02}~{body}SE*{n}*{st02}~"


def group(
    control: int, sets: list[str], version: str = "005010", fid: str = "IN", ge: str = ""
) -> str:
    trailer = ge or f"GE*{len(sets)}*{control}~"
    return f"GS*{fid}*WW*ACME*20241104*0900*{control}*X*{version}~{''.join(sets)}{trailer}"


def interchange(control: int, groups: list[str], iea: str = "", **kw: Any) -> str:
    return isa(control, **kw) + "".join(groups) + (iea or f"IEA*{len(groups)}*{control:09d}~")


def collect(text: str) -> tuple[list[ParsedDocument | Fault], list[dict[str, Any]]]:
    collector = AckCollector(X12Reader(io.BytesIO(text.encode())), "test.edi")
    items = list(collector)
    return items, collector.take()


def only_group(text: str) -> dict[str, Any]:
    _, requests = collect(text)
    (request,) = [r for r in requests if r["type"] == "group"]
    return request


def test_an_accepted_group() -> None:
    request = only_group(interchange(1, [group(5, [st(GOOD_810), st(GOOD_810, "0002")])]))
    assert [(s["st02"], s["status"]) for s in request["sets"]] == [("0001", "A"), ("0002", "A")]
    assert (request["gs"]["control"], request["included"], group_status(request)) == ("5", 2, "A")


@pytest.mark.parametrize(
    ("body", "segment", "element"),
    [
        ("IT1*1*2*EA*5.00~TDS*1000~", ("BIG", 2, "3"), None),  # mandatory segment missing
        ("BIG*20241103***PO1~TDS*1000~", ("BIG", 2, "8"), (2, "1", "")),  # element missing
        ("BIG*20241341*INV1**PO1~TDS*1000~", ("BIG", 2, "8"), (1, "8", "20241341")),  # date
        ("BIG*20241103*INV1**PO1~IT1*1*2X*EA*5~TDS*1~", ("IT1", 3, "8"), (2, "6", "2X")),
        ("BIG*20241103*INV1**PO1~IT1*1*-2*EA*5~TDS*1~", ("IT1", 3, "8"), (2, "6", "-2")),
        ("BIG*20241103*INV1**PO1~SAC*X~TDS*1~", ("SAC", 3, "8"), (1, "7", "X")),  # bad code
    ],
)
def test_each_segment_and_element_error_code(
    body: str, segment: tuple[str, int, str], element: tuple[int, str, str] | None
) -> None:
    request = only_group(interchange(1, [group(5, [st(body), st(GOOD_810, "0002")])]))
    bad, good = request["sets"]
    assert (bad["status"], bad["codes"], good["status"]) == ("R", ["5"], "A")
    (error,) = bad["segments"]
    assert (error["id"], error["pos"], error["code"]) == segment
    if element is None:
        assert error["elements"] == []
    else:
        (el,) = error["elements"]
        assert (el["pos"], el["code"], el["value"]) == element
    assert group_status(request) == "P"


@pytest.mark.parametrize(
    ("text_set", "code"),
    [
        (st(GOOD_810).replace("SE*5*0001", "SE*5*0009"), "3"),  # control number mismatch
        (st(GOOD_810, count=9), "4"),  # segment count
        ("ST*810*0001~" + GOOD_810, "2"),  # no SE before GE
    ],
)
def test_each_set_envelope_error_code(text_set: str, code: str) -> None:
    request = only_group(interchange(1, [group(5, [text_set])]))
    (entry,) = request["sets"]
    assert (entry["status"], entry["codes"]) == ("R", [code])
    assert group_status(request) == "R"


@pytest.mark.parametrize(
    ("ge", "code", "included"),
    [("GE*1*6~", "4", 1), ("GE*3*5~", "5", 3)],
)
def test_each_group_trailer_error_code(ge: str, code: str, included: int) -> None:
    request = only_group(interchange(1, [group(5, [st(GOOD_810)], ge=ge)]))
    assert request["group_errors"] == [code]
    assert request["included"] == included
    assert group_status(request) == "E"  # the set was accepted, the trailer noted


def test_an_empty_group_is_dead_lettered_and_rejected() -> None:
    text = interchange(1, [group(5, []), group(6, [st(GOOD_810)])])
    items, requests = collect(text)
    (fault,) = [i for i in items if isinstance(i, Fault)]
    assert (fault.scope, fault.error.element, fault.error.value) == ("group", "GE01", "0")
    assert fault.error.message.startswith("group 5 has no transaction sets")
    empty, good = requests
    assert (empty["sets"], empty["included"], empty["group_errors"]) == ([], 0, [])
    assert group_status(empty) == "R" and group_status(good) == "A"
    (ts,) = reread(render_functional_ack(empty, 9, AT))
    (ak9,) = [seg for seg in ts.segments if seg.id == "AK9"]
    assert [ak9.get(n) for n in range(1, 6)] == ["R", "0", "0", "0", ""]  # no AK905 code


def test_a_group_without_ge() -> None:
    text = isa(1) + "GS*IN*WW*ACME*20241104*0900*5*X*005010~" + st(GOOD_810) + "IEA*1*000000001~"
    request = only_group(text)
    assert request["group_errors"] == ["3"]


@pytest.mark.parametrize(
    ("iea", "note", "status"),
    [
        ("IEA*1*000000002~", "001", "E"),
        ("IEA*4*000000001~", "021", "E"),
        ("", "023", "E"),
    ],
)
def test_each_interchange_error_gets_a_ta1(iea: str, note: str, status: str) -> None:
    text = isa(1) + group(5, [st(GOOD_810)]) + iea
    _, requests = collect(text)
    (ta1,) = [r for r in requests if r["type"] == "interchange"]
    assert (ta1["note"], ta1["status"], ta1["isa"]["control"]) == (note, status, "000000001")


def test_segment_outside_a_set_is_invalid_content_and_rejected_without_sets() -> None:
    _, requests = collect(isa(1) + "REF*PO*X~" + "IEA*0*000000001~")
    (ta1,) = requests
    assert (ta1["type"], ta1["note"], ta1["status"]) == ("interchange", "024", "R")


def test_ta1_on_request_only() -> None:
    _, quiet = collect(interchange(1, [group(5, [st(GOOD_810)])]))
    assert [r["type"] for r in quiet] == ["group"]
    _, asked = collect(interchange(1, [group(5, [st(GOOD_810)])], ack="1"))
    (ta1,) = [r for r in asked if r["type"] == "interchange"]
    assert (ta1["status"], ta1["note"]) == ("A", "000")


def test_documents_and_faults_are_those_of_parse_sets() -> None:
    items, _ = collect(interchange(1, [group(5, [st(GOOD_810), st("IT1*1~")])]))
    assert [type(i).__name__ for i in items] == ["ParsedDocument", "Fault"]


def reread(data: bytes) -> list[Any]:
    items = list(X12Reader(io.BytesIO(data)))
    assert all(not isinstance(i, Fault) for i in items), items
    return items


@pytest.mark.parametrize(("version", "kind"), [("004010", "997"), ("005010", "999")])
def test_rendered_ack_reads_back_with_the_same_facts(version: str, kind: str) -> None:
    text = interchange(
        1,
        [group(5, [st(GOOD_810), st("BIG*20241103***PO1~TDS*1~", "0002")], version=version)],
        version="00401" if version.startswith("004") else "00501",
    )
    request = only_group(text)
    data = render_functional_ack(request, 42, AT)
    (ts,) = reread(data)
    assert (ts.set_id, ts.interchange.control_number, ts.group.control_number) == (
        kind,
        "000000042",
        "42",
    )
    assert (ts.interchange.sender_id, ts.interchange.receiver_id) == ("ACME", "WW")
    assert ts.group.functional_id == "FA"
    (ack,) = read_functional_ack(ts)
    assert (ack["fid"], ack["control"], ack["status"]) == ("IN", "5", "P")
    assert [(s["st02"], s["status"]) for s in ack["sets"]] == [("0001", "A"), ("0002", "R")]
    assert (ack["included"], ack["received"], ack["accepted"]) == ("2", "2", "1")
    segment, element = ("IK3", "IK4") if kind == "999" else ("AK3", "AK4")
    ids = [seg.elements for seg in ts.segments if seg.id in (segment, element)]
    assert ids == [[segment, "BIG", "2", "", "8"], [element, "2", "", "1"]]


def test_rendered_ta1_tokenizes() -> None:
    _, requests = collect(isa(1) + group(5, [st(GOOD_810)]) + "IEA*1*000000002~")
    (ta1,) = [r for r in requests if r["type"] == "interchange"]
    segs = [s for s in tokenize(io.BytesIO(render_ta1(ta1, 3, AT)))]
    assert [s.elements for s in segs[1:]] == [
        ["TA1", "000000001", "241104", "0900", "E", "001"],
        ["IEA", "0", "000000003"],
    ]


def test_a_ta1_we_render_reads_back_as_the_partners_verdict() -> None:
    """A partner's TA1 is the same segment as ours: rendered for a received interchange and
    read back, it names that interchange with the status and note we gave it."""
    _, requests = collect(isa(1) + group(5, [st(GOOD_810)]) + "IEA*1*000000002~")
    (ta1_request,) = [r for r in requests if r["type"] == "interchange"]
    items, back = collect(render_ta1(ta1_request, 3, AT).decode())
    (item,) = items
    assert isinstance(item, ReceivedTa1)
    (request,) = back
    assert request["type"] == "ta1"
    assert (request["isa"]["sender"], request["isa"]["receiver"]) == ("ACME", "WW")
    want = {"control": "000000001", "date": "241104", "time": "0900", "status": "E"}
    assert request["ta1"] == want | {"note": "001"}
    assert collect(render_ta1(ta1_request, 3, AT).decode())[1][0]["id"] == request["id"]


def test_a_received_ta1_is_a_record_the_worker_applies() -> None:
    text = isa(4) + "TA1*000000101*241104*0900*R*006~IEA*0*000000004~"
    (item,), _ = collect(text)
    index, key, record = document_record(item)
    back = avro.decode("edi_document", avro.encode("edi_document", record))
    assert (index, back["set_id"], back["control_number"], back["error"]) == (
        2,
        "TA1",
        "000000101",
        None,
    )
    assert key == item.idempotency_key.encode() and back["routing_key"] is None
    (reread,) = collect(bytes(back["raw"]).decode())[0]  # raw stands alone
    assert isinstance(reread, ReceivedTa1) and reread.facts == item.facts


@pytest.mark.parametrize(
    ("ta1", "element", "value"),
    [
        ("TA1*101*241104*0900*R*006~", "TA101", "101"),
        ("TA1*000000101*241104*0900*X*006~", "TA104", "X"),
        ("TA1*000000101*241104*0900*R~", "TA105", None),
    ],
)
def test_a_malformed_ta1_is_dead_lettered_naming_its_element(
    ta1: str, element: str, value: str | None
) -> None:
    items, requests = collect(isa(4) + ta1 + "IEA*0*000000004~")
    (fault,) = items
    assert isinstance(fault, Fault) and requests == []
    assert (fault.error.element, fault.error.value) == (element, value)
    assert fault.error.message.startswith(f"{element} must be")


def test_a_ta1_inside_a_group_is_misplaced() -> None:
    body = "GS*IN*WW*ACME*20241104*0900*5*X*005010~TA1*000000101*241104*0900*A*000~"
    items, requests = collect(isa(4) + body + st(GOOD_810) + "GE*1*5~IEA*1*000000004~")
    assert isinstance(items[0], Fault) and "inside a functional group" in items[0].error.message
    assert [(r["type"], r.get("note")) for r in requests] == [
        ("group", None),
        ("interchange", "024"),
    ]


def test_received_acks_are_read_and_not_acknowledged() -> None:
    request = only_group(
        interchange(1, [group(5, [st(GOOD_810)], version="004010")], version="00401")
    )
    ack = render_functional_ack(request, 9, AT).decode()
    _, requests = collect(ack)
    (fa,) = requests
    assert fa["gs"]["fid"] == "FA"
    assert fa["acks"] == [
        {
            "fid": "IN",
            "control": "5",
            "status": "A",
            "sets": [{"st01": "810", "st02": "0001", "status": "A"}],
            "included": "1",
            "received": "1",
            "accepted": "1",
        }
    ]


BAD_SETS: dict[str, tuple[str, tuple[str, str, str | None] | None]] = {
    "ok": (GOOD_810, None),
    "no_big": ("IT1*1*2*EA*5.00~TDS*1000~", ("BIG", "3", None)),
    "bad_date": ("BIG*20241341*INV1**PO1~TDS*1000~", ("BIG", "8", "8")),
    "negative": ("BIG*20241103*INV1**PO1~IT1*1*-2*EA*5~TDS*1~", ("IT1", "8", "6")),
    "no_number": ("BIG*20241103***PO1~TDS*1000~", ("BIG", "8", "1")),
}


@settings(max_examples=40, deadline=None)
@given(
    hs.lists(
        hs.lists(hs.sampled_from(sorted(BAD_SETS)), min_size=0, max_size=4),  # 0: empty
        min_size=1,
        max_size=4,
    ),
    hs.sampled_from(["004010", "005010"]),
)
def test_every_group_gets_exactly_one_ack_that_reads_back(
    groups: list[list[str]], version: str
) -> None:
    """Groups of good and bad sets in several interchanges: one request per group, one
    entry per set; each rendered 997/999, read by our reader, says the same."""
    text = ""
    isa_version = "00401" if version.startswith("004") else "00501"
    for g, kinds in enumerate(groups, start=1):
        bodies = [st(BAD_SETS[k][0], f"{i:04d}") for i, k in enumerate(kinds, start=1)]
        text += interchange(100 + g, [group(g, bodies, version=version)], version=isa_version)
    _, requests = collect(text)
    assert [r["gs"]["control"] for r in requests] == [str(g) for g in range(1, len(groups) + 1)]
    for n, (request, kinds) in enumerate(zip(requests, groups, strict=True), start=1):
        statuses = ["A" if k == "ok" else "R" for k in kinds]
        assert [s["status"] for s in request["sets"]] == statuses
        want = "R" if "A" not in statuses else "A" if "R" not in statuses else "P"
        (ts,) = reread(render_functional_ack(request, n, AT))
        assert ts.set_id == ("999" if version == "005010" else "997")
        (ack,) = read_functional_ack(ts)
        assert (ack["control"], ack["status"]) == (str(n), want)
        assert [s["status"] for s in ack["sets"]] == statuses
        assert ack["accepted"] == str(statuses.count("A"))
        seg_id = "IK3" if version == "005010" else "AK3"
        el_id = "IK4" if version == "005010" else "AK4"
        errors = [(seg.get(1), seg.get(4)) for seg in ts.segments if seg.id == seg_id]
        wanted = [want for k in kinds if (want := BAD_SETS[k][1]) is not None]
        assert errors == [(segment, code) for segment, code, _ in wanted]
        elements = [seg.get(3) for seg in ts.segments if seg.id == el_id]
        assert elements == [element for _, _, element in wanted if element]


FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "x12"


def fixture_requests(name: str) -> list[tuple[str, str, list[str], list[str]]]:
    """(type, group control or TA105, set codes or statuses, group errors) per request."""
    with (FIXTURES / name).open("rb") as f:
        collector = AckCollector(X12Reader(f), name)
        list(collector)
    out = []
    for r in collector.take():
        if r["type"] == "interchange":
            out.append(("TA1", r["note"], [r["status"]], []))
        else:
            sets = [s["status"] + "".join(s["codes"]) for s in r["sets"]]
            out.append(("group", r["gs"]["control"], sets, r["group_errors"]))
    return out


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("mismatch_ge01_count.edi", [
            ("group", "131", ["A", "A"], ["5"]), ("group", "132", ["A"], [])]),
        ("mismatch_gs06_ge02.edi", [
            ("group", "121", ["A"], []), ("group", "122", ["A"], ["4"]),
            ("group", "123", ["A"], [])]),
        ("mismatch_isa13_iea02.edi", [
            ("group", "101", ["A"], []), ("group", "102", ["A"], []), ("TA1", "001", ["E"], []),
            ("group", "103", ["A"], [])]),
        ("mismatch_iea01_count.edi", [
            ("group", "111", ["A"], []), ("group", "112", ["A"], []), ("TA1", "021", ["E"], []),
            ("group", "113", ["A"], [])]),
        ("mismatch_st02_se02.edi", [("group", "141", ["A", "R3", "A"], [])]),
        ("mismatch_se01_count.edi", [("group", "151", ["A", "R4", "A"], [])]),
        ("recovery_garbage_and_missing_se.edi", [
            ("group", "311", ["A", "R5", "R2", "A"], []), ("TA1", "024", ["E"], [])]),
        ("recovery_malformed_isa.edi", [("group", "301", ["A"], [])]),  # no TA1: no sender
        ("document_rules.edi", [("group", "401", ["R5"] * 5 + ["A"], [])]),
    ],
)  # fmt: skip
def test_fixture_files(name: str, want: list[tuple[str, str, list[str], list[str]]]) -> None:
    assert fixture_requests(name) == want


def test_fixture_997_is_read_as_an_ack_not_acknowledged() -> None:
    with (FIXTURES / "quirk_groups_versions.edi").open("rb") as f:
        collector = AckCollector(X12Reader(f))
        list(collector)
    fa = [r for r in collector.take() if r["gs"]["fid"] == "FA"]
    (request,) = fa
    assert [(a["fid"], a["control"], a["status"]) for a in request["acks"]] == [("PO", "70", "A")]


@pytest.mark.parametrize(
    ("name", "group", "status", "sets"),
    [
        ("pyx12_simple1.997", ("HC", "17"), "R", [("837", "11280001", "R")]),
        ("pyx12_bad_elements.997", ("HC", "56"), "R", [("837", "000000001", "R")]),
        ("pyx12_834_lui_id.997", ("BE", "13360001"), "A", [("834", "0001", "A")]),
    ],
)
def test_public_997s_read_as_the_acks_they_are(
    name: str, group: tuple[str, str], status: str, sets: list[tuple[str, str, str]]
) -> None:
    """pyx12's generated 997s (tests/fixtures/x12/README.md): every segment reads, nothing is
    dead-lettered, and the one FA request names the group, AK9 and each AK2/AK5."""
    with (FIXTURES / name).open("rb") as f:
        collector = AckCollector(X12Reader(f), name)
        items = list(collector)
    assert [type(i).__name__ for i in items] == ["ParsedDocument"]
    (request,) = collector.take()
    assert (request["type"], request["gs"]["fid"]) == ("group", "FA")
    (ack,) = request["acks"]
    assert ((ack["fid"], ack["control"]), ack["status"]) == (group, status)
    assert [(s["st01"], s["st02"], s["status"]) for s in ack["sets"]] == sets
    assert (ack["included"], ack["accepted"]) == ("1", "1" if status == "A" else "0")


def test_a_set_dead_lettered_at_ingest_is_rejected() -> None:
    """Ingest diverts a set too large for Kafka after reading it: its ack rejects it."""
    text = interchange(1, [group(5, [st(GOOD_810), st(GOOD_810, "0002")])])
    collector = AckCollector(X12Reader(io.BytesIO(text.encode())))
    for n, _ in enumerate(collector):
        if n == 0:
            collector.reject_last()
    (request,) = collector.take()
    assert [(s["status"], s["codes"]) for s in request["sets"]] == [("R", ["5"]), ("A", [])]
    assert group_status(request) == "P"
