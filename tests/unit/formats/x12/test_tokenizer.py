"""Delimiters from the ISA, every terminator of docs/domain.md §6, wrapping, chunking, garbage."""

from __future__ import annotations

import io

import pytest

from streams.formats.x12 import tokenizer as tk
from streams.formats.x12.tokenizer import Garbage, Segment, Tokenizer, read_isa, repetitions

from .helpers import FIXTURES, fixture, interchange, x12_set

pytestmark = pytest.mark.unit

PADDED_ISA = (
    b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240321*1015*^*00501"
    b"*000000001*0*P*>~"
)


def tokens(data: bytes, chunk_size: int = tk.CHUNK_SIZE) -> list[Segment | Garbage]:
    return list(Tokenizer(io.BytesIO(data), chunk_size))


def ids(data: bytes) -> list[str]:
    return [t.id if isinstance(t, Segment) else "?" for t in tokens(data)]


def test_delimiters_of_a_padded_isa() -> None:
    found = read_isa(PADDED_ISA, 0)
    assert isinstance(found, tuple)
    delims, elements, end = found
    assert (delims.element, delims.component, delims.segment) == ("*", ">", "~")
    assert delims.repetition == "^"
    assert end == len(PADDED_ISA) == 106
    assert elements[6] == "SENDER         " and elements[13] == "000000001" and len(elements) == 17


def test_delimiters_of_a_non_padded_isa() -> None:
    isa = b"ISA*00**00**ZZ*WW*ZZ*AR*240321*1015*U*00401*7*0*P*:|GS*..."
    found = read_isa(isa, 0)
    assert isinstance(found, tuple)
    delims, elements, end = found
    assert (delims.element, delims.component, delims.segment) == ("*", ":", "|")
    assert delims.repetition is None  # 00401: ISA11 is the standards id, not a separator
    assert elements[13] == "7" and isa[end:].startswith(b"GS")


@pytest.mark.parametrize(
    ("after_isa16", "declared", "search"),
    [
        (b"~", "~", b"~"),
        (b"~\r\n", "~", b"~"),
        (b"\n", "\n", b"\n"),
        (b"\r\n", "\r\n", b"\n"),
        (b"\r", "\r", b"\r"),
        ("§".encode(), "§", "§".encode()),
        (b"\x1c", "\x1c", b"\x1c"),
        (b"'", "'", b"'"),
    ],
)
def test_terminator_is_whatever_follows_isa16(
    after_isa16: bytes, declared: str, search: bytes
) -> None:
    found = read_isa(PADDED_ISA[:-1] + after_isa16 + b"GS*", 0)
    assert isinstance(found, tuple)
    assert found[0].segment == declared
    assert found[0].segment_bytes == search


@pytest.mark.parametrize(
    ("isa", "reason"),
    [
        (b"ISA", "no element separator"),
        (b"ISAX00", "no element separator"),
        (b"ISA*00*  *00*  *ZZ*A*ZZ*B*240321~GS*PO*1*2*3*4*5*6*7*8", "ISA09"),
        (PADDED_ISA[:-2], "ISA16"),
        (PADDED_ISA[:-1], "the file ends inside the ISA"),
        (PADDED_ISA[:-1] + b"A", "terminator"),
        (PADDED_ISA.replace(b"000000001", b"00000000X"), "ISA13"),
    ],
)
def test_unreadable_isas_are_explained(isa: bytes, reason: str) -> None:
    found = read_isa(isa, 0)
    assert isinstance(found, str)
    assert reason in found


def test_segments_carry_offset_index_and_original_bytes() -> None:
    data = interchange(x12_set("850", "BEG*00*SA*PO1**20240101"))
    segs = tokens(data)
    assert all(isinstance(s, Segment) for s in segs)
    assert [s.segment_index for s in segs] == list(range(1, len(segs) + 1))
    for seg in segs:
        assert isinstance(seg, Segment)
        assert data[seg.offset : seg.offset + len(seg.raw)] == seg.raw
        assert seg.raw.startswith(seg.id.encode())
    # every byte but the line breaks between segments belongs to one segment
    assert b"".join(s.raw for s in segs) == data.replace(b"~\n", b"~")


def test_hard_wrapped_lines_and_indentation_are_not_data() -> None:
    flat = interchange(x12_set("850", "BEG*00*SA*PO12345**20240101")).replace(b"\n", b"")
    wrapped = b"\n".join(flat[i : i + 80] for i in range(0, len(flat), 80))
    indented = flat.replace(b"~", b"~\r\n    ")
    plain = [(s.id, s.elements) for s in tokens(flat) if isinstance(s, Segment)]
    for variant in (wrapped, indented):
        assert [(s.id, s.elements) for s in tokens(variant) if isinstance(s, Segment)] == plain
    wrapped_beg = next(s for s in tokens(wrapped) if isinstance(s, Segment) and s.id == "BEG")
    assert wrapped_beg.get(3) == "PO12345"


def test_newline_terminated_files_in_lf_crlf_and_cr() -> None:
    lf = fixture("quirk_newline_terminator.edi").read_bytes()
    expected = [(s.id, s.elements) for s in tokens(lf) if isinstance(s, Segment)]
    assert len(expected) == 20
    for variant in (lf.replace(b"\n", b"\r\n"), lf.replace(b"\n", b"\r")):
        assert [(s.id, s.elements) for s in tokens(variant) if isinstance(s, Segment)] == expected


def test_the_repetition_separator_only_splits_repeating_elements() -> None:
    data = interchange(x12_set("271", "EB*1**30-35-47\nREF*IA*WAL-MART-001"))
    data = data.replace(b"*^*00501", b"*-*00501")
    tokenizer = Tokenizer(io.BytesIO(data))
    segs = [s for s in tokenizer if isinstance(s, Segment)]
    delims = read_isa(data, 0)
    assert isinstance(delims, tuple) and delims[0].repetition == "-"
    eb = next(s for s in segs if s.id == "EB")
    ref = next(s for s in segs if s.id == "REF")
    assert repetitions(eb, 3, delims[0]) == ["30", "35", "47"]  # EB03 repeats (X12 max use 99)
    assert repetitions(ref, 2, delims[0]) == ["WAL-MART-001"]  # REF02 does not: '-' is data
    assert ref.get(2) == "WAL-MART-001"


def test_each_interchange_brings_its_own_delimiters() -> None:
    first = interchange(x12_set("850", "BEG*00*SA*A**20240101"), control=1)
    second = interchange(x12_set("850", "BEG*00*SA*B**20240101"), control=2)
    second = second.replace(b"*", b"|").replace(b"~\n", b"\n").replace(b"|>\n", b"|:\n")
    segs = [s for s in tokens(first + b"\r\n\x1a" + second) if isinstance(s, Segment)]
    assert [s.get(3) for s in segs if s.id == "BEG"] == ["A", "B"]
    assert [s.id for s in segs].count("ISA") == 2


def test_garbage_before_between_and_inside_interchanges() -> None:
    good = interchange(x12_set("850", "BEG*00*SA*A**20240101"))
    bad_segment = good.replace(b"BEG*", b"#!?*")
    found = tokens(b"hello world\n" + good + b"trailing junk" + bad_segment)
    garbage = [t for t in found if isinstance(t, Garbage)]
    assert [g.interchange for g in garbage] == [True, True, False]
    assert garbage[0].offset == 0 and garbage[0].raw == b"hello world\n"
    assert "expected an ISA segment" in garbage[1].reason
    assert "not a segment id" in garbage[2].reason
    assert [t.id for t in found if isinstance(t, Segment)].count("IEA") == 2


def test_a_runaway_segment_is_cut_into_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tk, "MAX_SEGMENT_BYTES", 64)
    data = PADDED_ISA + b"GS" + b"*X" * 2000 + b"~IEA*0*000000001~"
    found = tokens(data, chunk_size=16)
    garbage = [t for t in found if isinstance(t, Garbage)]
    assert sum("no segment terminator" in g.reason for g in garbage) > 10
    assert all(g.length <= 64 for g in garbage)
    assert isinstance(found[-1], Segment) and found[-1].id == "IEA"


def test_the_last_segment_may_lack_its_terminator() -> None:
    data = interchange(x12_set("850", "BEG*00*SA*A**20240101")).rstrip(b"~\n")
    assert ids(data)[-1] == "IEA"


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 64, 1000])
def test_chunk_boundaries_do_not_change_the_tokens(chunk_size: int) -> None:
    for path in sorted(FIXTURES.glob("*.edi")):
        data = path.read_bytes()
        assert tokens(data, chunk_size) == tokens(data), path.name


def test_a_bom_before_the_isa_is_skipped() -> None:
    data = b"\xef\xbb\xbf" + interchange(x12_set("850", "BEG*00*SA*A**20240101"))
    assert ids(data)[0] == "ISA"
