"""EDI controls end to end on the real broker (docs/edi-controls.md): an invoice resent in a
new interchange is a duplicate and does not match twice, a conflicting resend raises
duplicate_conflict, and so does a copy billed against another PO (it never reaches that
order); every group a partner sent is acknowledged (999) and its broken
envelope gets a TA1, exported as X12 files that read back; the 997 the partner sent for
our groups settles them (a rejection and a missing ack are exceptions), and so does the TA1
refusing one of our interchanges."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app as cli
from streams.formats.x12 import X12Reader
from streams.formats.x12.ack_x12 import read_functional_ack
from streams.formats.x12.tokenizer import tokenize
from streams.ingest.producer import ingest_file
from streams.kafka.topics import create_topics
from streams.ops.audit import audit
from streams.ops.matches import fold, match_events
from streams.settings import Settings
from streams.tools.batch import drain
from tests.integration.test_trade_matching import counts, export

pytestmark = pytest.mark.integration


def isa(sender: str, receiver: str, control: int, version: str = "00501") -> str:
    return (
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*241104*0900*^*"
        f"{version}*{control:09d}*0*P*>~"
    )


def gs(
    fid: str, sender: str, receiver: str, control: int, sets: list[str], v: str = "005010"
) -> str:
    head = f"GS*{fid}*{sender}*{receiver}*20241104*0900*{control}*X*{v}~"
    return head + "".join(sets) + f"GE*{len(sets)}*{control}~"


def st(set_id: str, st02: str, segments: list[str]) -> str:
    return (
        f"ST*{set_id}*{st02}~"
        + "".join(f"{s}~" for s in segments)
        + f"SE*{len(segments) + 2}*{st02}~"
    )


def po(number: str) -> str:
    return st("850", "0001", [f"BEG*00*SA*{number}**20241101", "PO1*1*2*EA*5.00*PE*BP*P-1"])


def invoice(st02: str, number: str, po_number: str, lines: list[str]) -> str:
    return st("810", st02, [f"BIG*20241103*{number}**{po_number}", *lines, "TDS*1000"])


TWO_AT_5 = ["IT1*1*2*EA*5.00**BP*P-1"]
FILE = "".join(
    [
        isa("ACME", "WW", 101) + gs("PO", "ACME", "WW", 1101, [po("PO7")]) + "IEA*1*000000101~",
        isa("ACME", "WW", 102) + gs("PO", "ACME", "WW", 1102, [po("PO8")]) + "IEA*1*000000102~",
        isa("ACME", "WW", 103) + gs("PO", "ACME", "WW", 1103, [po("PO9")]) + "IEA*1*000000103~",
        # the partner's TA1 refusing the envelope of our interchange 103
        isa("WW", "ACME", 205) + "TA1*000000103*241104*0900*R*006~IEA*0*000000205~",
        isa("WW", "ACME", 201)
        + gs(
            "SH",
            "WW",
            "ACME",
            2200,
            [
                st(
                    "856",
                    "0001",
                    [
                        "BSN*00*SHP7*20241102*1430",
                        "HL*1**S",
                        "HL*2*1*O",
                        "PRF*PO7",
                        "HL*3*2*I",
                        "LIN*1*BP*P-1",
                        "SN1**2*EA",
                    ],
                )
            ],
        )
        + gs("IN", "WW", "ACME", 2201, [invoice("0001", "INV1", "PO7", TWO_AT_5)])
        + "IEA*2*000000201~",
        # the same invoice in a new interchange (number written otherwise), then the same
        # identity (vendor, number, date, amount) with other lines
        isa("WW", "ACME", 202)
        + gs(
            "IN",
            "WW",
            "ACME",
            2202,
            [
                invoice("0001", "inv-001", "PO7", TWO_AT_5),
                invoice("0002", "INV1", "PO7", ["IT1*1*1*EA*10.00**BP*P-1"]),
            ],
        )
        + "IEA*1*000000202~",
        # the partner's 997 for our group 1101: rejected
        isa("WW", "ACME", 203, "00401")
        + gs(
            "FA",
            "WW",
            "ACME",
            3301,
            [st("997", "0001", ["AK1*PO*1101", "AK2*850*0001", "AK5*R*5", "AK9*R*1*1*0"])],
            "004010",
        )
        + "IEA*1*000000203~",
        # an interchange whose trailer does not match its header: TA1 001
        isa("WW", "ACME", 204)
        + gs("IN", "WW", "ACME", 2203, [invoice("0001", "INV9", "PO8", TWO_AT_5)])
        + "IEA*1*000000999~",
        # INV9 (of PO8) billed again against PO7: same identity, another PO
        isa("WW", "ACME", 206)
        + gs("IN", "WW", "ACME", 2204, [invoice("0001", "INV9", "PO7", TWO_AT_5)])
        + "IEA*1*000000206~",
    ]
)


def test_duplicates_and_acknowledgements(isolated_settings: Settings, tmp_path: Path) -> None:
    settings = isolated_settings.with_overrides(match_own_parties="ACME", ack_timeout_seconds=0.001)
    create_topics(settings)
    path = tmp_path / "controls.edi"
    path.write_text(FILE)
    # 10 sets, the TA1 and the broken IEA
    assert ingest_file(settings, path, "edi").rows_read == 12
    drain(settings)

    # 850 x3, 856, INV1, the 997, the TA1 and INV9 applied; the three resends duplicates;
    # the IEA fault
    assert counts(audit(settings), "controls.edi") == (12, 8, 3, 1)
    matched = fold(match_events(settings, "document_match"), "match_id").values()
    live = [(m["record_id"], m["line"]) for m in matched if m["event"] == "matched"]
    assert live == [("INV1", "BP:P-1")]  # once, though three invoices claimed it
    # and PO7 has no variance from INV9's copy: it never reached PO7

    found = export(settings, "exceptions", tmp_path / "exceptions.csv")
    kinds = sorted((r["kind"], r["record_id"]) for r in found)
    assert kinds == [
        ("ack_overdue", "PO 1102"),
        ("ack_rejected", "PO 1101"),
        ("ack_rejected", "PO 1103"),
        ("duplicate_conflict", "INV1"),
        ("duplicate_conflict", "INV9"),
    ]
    refused = next(r for r in found if r["record_id"] == "PO 1103")
    assert "rejected with a TA1 (note 006: invalid sender id)" in refused["details"]
    conflict = {r["record_id"]: r for r in found if r["kind"] == "duplicate_conflict"}
    assert "lines '1:2x5.00' in force, '1:1x10.00' in the copy" in conflict["INV1"]["details"]
    assert "po_number 'PO8' in force, 'PO7' in the copy" in conflict["INV9"]["details"]

    out = tmp_path / "acks"
    result = CliRunner().invoke(
        cli,
        [
            "--bootstrap-servers",
            settings.bootstrap,
            "--topic-prefix",
            settings.topic_prefix,
            "edi",
            "acks",
            "export",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.x12"))
    assert files == [
        "WW/999-000000001.x12",
        "WW/999-000000002.x12",
        "WW/999-000000003.x12",
        "WW/999-000000004.x12",
        "WW/999-000000006.x12",
        "WW/TA1-000000005.x12",
    ]
    acked = {}
    for name in files[:5]:
        (ts,) = list(X12Reader(io.BytesIO((out / name).read_bytes())))
        assert (ts.interchange.sender_id, ts.interchange.receiver_id) == ("ACME", "WW")
        (ack,) = read_functional_ack(ts)
        acked[ack["control"]] = (ack["status"], [s["status"] for s in ack["sets"]])
    assert acked == {
        "2200": ("A", ["A"]),
        "2201": ("A", ["A"]),
        "2202": ("A", ["A", "A"]),  # duplicates are good X12: acknowledged as accepted
        "2203": ("A", ["A"]),
        "2204": ("A", ["A"]),
    }
    ta1 = [s.elements for s in tokenize(io.BytesIO((out / files[5]).read_bytes()))][1]
    assert ta1 == ["TA1", "000000204", "241104", "0900", "E", "001"]
