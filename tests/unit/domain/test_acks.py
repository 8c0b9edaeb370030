"""The acknowledgement ledger: control numbers, the groups we sent, the acks they get,
overdue and rejected groups, in any order and across restarts (docs/edi-controls.md)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from streams.domain.acks import AckConfig, AckEngine
from streams.domain.state import DictState
from streams.formats.x12 import X12Reader
from streams.formats.x12.ack_x12 import render_functional_ack, render_ta1
from streams.formats.x12.acks import AckCollector

pytestmark = pytest.mark.unit

HOUR = 3_600_000_000
CONFIG = AckConfig(frozenset({"ACME"}), timeout_micros=HOUR)
GOOD_810 = "ST*810*0001~BIG*20241103*INV1**PO1~TDS*1000~SE*4*0001~"
GOOD_850 = "ST*850*0001~BEG*00*SA*PO1**20241101~SE*3*0001~"


def x12(sender: str, receiver: str, control: int, fid: str, body: str, ver: str = "005010") -> str:
    isa_ver = "00401" if ver.startswith("004") else "00501"
    return (
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*241104*0900*^*"
        f"{isa_ver}*{control:09d}*0*P*>~GS*{fid}*{sender}*{receiver}*20241104*0900*{control}*X*"
        f"{ver}~{body}GE*1*{control}~IEA*1*{control:09d}~"
    )


def requests(text: str) -> list[dict[str, Any]]:
    collector = AckCollector(X12Reader(io.BytesIO(text.encode())))
    list(collector)
    return collector.take()


def sent_po(control: int, partner: str = "WW") -> dict[str, Any]:
    (request,) = requests(x12("ACME", partner, control, "PO", GOOD_850))
    return request


def partner_ack(control: int, status_of: str = "A", partner: str = "WW") -> dict[str, Any]:
    """The 997 a partner sends for our group ``control`` (rendered by our own renderer)."""
    ours = sent_po(control, partner)
    if status_of == "R":
        ours["sets"][0] |= {"status": "R", "codes": ["5"]}
    # rendering our group's request addresses the ack from the partner to us, as it would
    data = render_functional_ack(ours, 500 + control, 0).decode()
    (request,) = requests(data)
    return request


def partner_ta1(control: int, status: str, note: str, via: int = 700) -> dict[str, Any]:
    """The TA1 a partner sends, in its interchange ``via + control``, about the envelope of
    our interchange ``control``."""
    ours = sent_po(control) | {"status": status, "note": note}
    (request,) = requests(render_ta1(ours, via + control, 0).decode())
    return request


class Run:
    def __init__(self, state: DictState | None = None) -> None:
        self.state = state or DictState()
        self.engine = AckEngine(self.state, CONFIG)
        self.acks: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def _collect(self, before: dict[str, bytes]) -> None:
        for key, raw in self.state.data.items():
            if key.startswith("p:") and before.get(key) != raw:
                for entry in self.state.get(key)["out"]:  # type: ignore[index]
                    (self.acks if entry["to"] == "acks" else self.events).append(entry["doc"])

    def apply(self, request: dict[str, Any], at: int = 0) -> str:
        before = dict(self.state.data)
        what = self.engine.apply(request, 0, at, "c")
        self._collect(before)
        return what

    def tick(self, now: int) -> None:
        before = dict(self.state.data)
        self.engine.tick(0, now)
        self._collect(before)

    def open_exceptions(self) -> dict[str, str]:
        latest: dict[str, dict[str, Any]] = {}
        for event in self.events:
            latest[event["id"]] = event
        return {e["record_id"]: e["kind"] for e in latest.values() if e["status"] == "open"}


def received(control: int, sender: str = "WW", ver: str = "005010") -> dict[str, Any]:
    (request,) = requests(x12(sender, "ACME", control, "IN", GOOD_810, ver))
    return request


def test_a_received_group_gets_one_ack_with_the_next_control_number() -> None:
    run = Run()
    assert run.apply(received(1)) == "ack"
    assert run.apply(received(2, ver="004010")) == "ack"
    assert run.apply(received(1)) == "replay"  # the same interchange ingested again
    assert [(a["type"], a["control"]) for a in run.acks] == [("999", 1), ("997", 2)]


def test_an_interchange_reusing_control_numbers_gets_a_ta1_025() -> None:
    """The same ISA13 and GS06 again with other content: the partner reused its control
    numbers. An exact re-ingest is still a replay; the other content is told once."""
    run = Run()
    assert run.apply(received(3)) == "ack"
    other = GOOD_810.replace("INV1", "INV2")
    (reused,) = requests(x12("WW", "ACME", 3, "IN", other))
    assert reused["id"] == received(3)["id"] and reused["content"] != received(3)["content"]
    assert run.apply(received(3)) == "replay"
    assert run.apply(reused) == "ack"
    assert run.apply(reused) == "replay"  # told once
    assert [(a["type"], a["control"]) for a in run.acks] == [("999", 1), ("TA1", 2)]
    ta1 = run.acks[1]["request"]
    assert (ta1["isa"]["control"], ta1["status"], ta1["note"]) == ("000000003", "R", "025")
    text = render_ta1(ta1, run.acks[1]["control"], 0).decode()
    assert "TA1*000000003*241104*0900*R*025~" in text


def test_control_numbers_are_per_partner_and_survive_a_restart() -> None:
    run = Run()
    run.apply(received(1))
    run.apply(received(1, sender="OTHER"))
    restarted = Run(run.state)  # a new engine on the restored state
    restarted.apply(received(2))
    restarted.apply(received(2, sender="OTHER"))
    assert [a["control"] for a in run.acks + restarted.acks] == [1, 1, 2, 2]


def test_a_ta1_for_a_partner_envelope_error() -> None:
    text = x12("WW", "ACME", 7, "IN", GOOD_810).replace("IEA*1*000000007", "IEA*1*000000008")
    run = Run()
    for request in requests(text):
        run.apply(request)
    assert [a["type"] for a in run.acks] == ["999", "TA1"]
    assert run.acks[1]["request"]["note"] == "001"


def test_no_ack_for_our_own_groups_or_for_acks() -> None:
    run = Run()
    assert run.apply(sent_po(1)) == "sent"
    assert run.apply(partner_ack(1)) == "acked"
    assert run.acks == []


def test_overdue_then_acknowledged() -> None:
    run = Run()
    run.apply(sent_po(11), at=0)
    run.tick(HOUR - 1)
    assert run.open_exceptions() == {}
    run.tick(HOUR)
    assert run.open_exceptions() == {"PO 11": "ack_overdue"}
    run.apply(partner_ack(11), at=2 * HOUR)
    assert run.open_exceptions() == {}
    assert [e["status"] for e in run.events] == ["open", "resolved"]


def test_a_rejected_group_is_an_exception() -> None:
    run = Run()
    run.apply(sent_po(12))
    run.apply(partner_ack(12, "R"))
    assert run.open_exceptions() == {"PO 12": "ack_rejected"}
    (event,) = run.events
    assert "acknowledged R: 0 of 1 sets accepted (850 0001 R)" in event["details"]


def test_a_ta1_rejecting_our_interchange_rejects_its_groups() -> None:
    run = Run()
    assert run.apply(partner_ta1(13, "R", "006")) == "acked"  # before the group is ingested
    run.apply(sent_po(13))
    run.apply(sent_po(14))
    assert run.apply(partner_ta1(14, "A", "000")) == "acked"
    assert run.acks == []  # a TA1 is not acknowledged
    assert run.open_exceptions() == {"PO 13": "ack_rejected"}
    (event,) = run.events
    assert "rejected with a TA1 (note 006: invalid sender id)" in event["details"]
    run.tick(2 * HOUR)  # an accepted envelope still owes its groups a 997/999
    assert run.open_exceptions() == {"PO 13": "ack_rejected", "PO 14": "ack_overdue"}


def test_the_worse_of_two_ta1s_stands() -> None:
    for order in ([("A", "000", 1), ("R", "022", 2)], [("R", "022", 2), ("A", "000", 1)]):
        run = Run()
        run.apply(sent_po(15))
        for status, note, via in order:
            assert run.apply(partner_ta1(15, status, note, via)) == "acked"
        assert run.open_exceptions() == {"PO 15": "ack_rejected"}


def test_our_own_ta1_is_ignored() -> None:
    (ours,) = requests(render_ta1(received(16) | {"status": "R", "note": "001"}, 1, 0).decode())
    assert Run().apply(ours) == "ignored"


PUBLIC = Path(__file__).resolve().parents[2] / "fixtures" / "x12"


def test_public_997s_settle_the_groups_they_name() -> None:
    """pyx12's 997s (tests/fixtures/x12/README.md) against the groups they acknowledge, sent
    by us as their receivers: the rejections are ack_rejected, the acceptance settles."""
    own = frozenset({"ZZ000", "SENDER", "D00111"})
    run = Run()
    run.engine = AckEngine(run.state, AckConfig(own, timeout_micros=HOUR))
    body = "ST*837*0001~BHT*0019~SE*3*0001~"
    for sender, receiver, fid, control in [
        ("ZZ000", "ZZ001", "HC", 17),
        ("SENDER", "RECEIVER", "HC", 56),
        ("D00111", "00GR", "BE", 13360001),
    ]:
        (ours,) = requests(x12(sender, receiver, control % 1_000_000_000, fid, body, "004010"))
        assert run.apply(ours) == "sent"
    for name in ("pyx12_simple1.997", "pyx12_bad_elements.997", "pyx12_834_lui_id.997"):
        (fa,) = requests((PUBLIC / name).read_text())
        assert run.apply(fa, at=HOUR // 2) == "acked"
    run.tick(2 * HOUR)
    assert run.open_exceptions() == {"HC 17": "ack_rejected", "HC 56": "ack_rejected"}
    assert run.acks == []


ITEMS = [
    sent_po(21),
    sent_po(22),
    partner_ack(21),
    partner_ack(22, "R"),
    sent_po(23),
    sent_po(24),
    partner_ta1(24, "R", "024"),
]


@settings(max_examples=40, deadline=None)
@given(hs.permutations(range(len(ITEMS))))
def test_any_order_ends_the_same(order: list[int]) -> None:
    """Acks may arrive before the groups they acknowledge are ingested (files out of order)."""
    run = Run()
    for i in order:
        run.apply(ITEMS[i], at=0)
    run.tick(2 * HOUR)
    assert run.open_exceptions() == {
        "PO 22": "ack_rejected",
        "PO 23": "ack_overdue",
        "PO 24": "ack_rejected",
    }
