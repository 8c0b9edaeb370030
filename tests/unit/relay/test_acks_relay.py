"""The acks table's outbox: acks rendered as X12 to the acks topic, byte-identical when
re-relayed; exceptions to the exceptions topic."""

from __future__ import annotations

import io
from typing import Any

import pytest

from streams.domain.acks import AckConfig, AckEngine
from streams.domain.state import DictState
from streams.formats import avro
from streams.formats.x12 import X12Reader
from streams.formats.x12.acks import AckCollector
from streams.ingest.acks import partner_of
from streams.relay.acks import ACK_CONTROL, ACK_TYPE, publish_of
from streams.settings import Settings

pytestmark = pytest.mark.unit

SETTINGS = Settings(topic_prefix="p")
SET = "ST*810*0001~BIG*20241103*INV1**PO1~TDS*1000~SE*4*0001~"


def request(sender: str, receiver: str, fid: str = "IN") -> dict[str, Any]:
    text = (
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*241104*0900*^*00501*"
        f"000000001*0*P*>~GS*{fid}*{sender}*{receiver}*20241104*0900*1*X*005010~{SET}GE*1*1~"
        "IEA*1*000000001~"
    )
    collector = AckCollector(X12Reader(io.BytesIO(text.encode())))
    list(collector)
    (req,) = collector.take()
    return req


def test_partner_is_the_party_that_is_not_ours() -> None:
    own = frozenset({"ACME"})
    assert partner_of(request("WW", "ACME"), own) == "WW"
    assert partner_of(request("ACME", "WW"), own) == "WW"


def test_an_ack_entry_is_rendered_to_the_acks_topic_the_same_each_time() -> None:
    state = DictState()
    AckEngine(state, AckConfig(frozenset({"ACME"}), 1)).apply(request("WW", "ACME"), 0, 5)
    (entry,) = state.get("p:WW")["out"]  # type: ignore[index]
    first, again = publish_of(SETTINGS, entry), publish_of(SETTINGS, entry)
    assert first == again
    assert (first.topic, first.key) == ("p.acks", b"WW")
    assert dict(first.headers)[ACK_TYPE] == b"999" and dict(first.headers)[ACK_CONTROL] == b"1"
    (ts,) = list(X12Reader(io.BytesIO(first.value)))
    assert ts.set_id == "999" and ts.interchange.receiver_id == "WW"


def test_an_exception_entry_goes_to_exceptions() -> None:
    state = DictState()
    engine = AckEngine(state, AckConfig(frozenset({"ACME"}), 1))
    engine.apply(request("ACME", "WW", "PO"), 0, 0)
    engine.tick(0, 10)
    (entry,) = state.get("p:WW")["out"]  # type: ignore[index]
    message = publish_of(SETTINGS, entry)
    assert message.topic == "p.exceptions"
    value = avro.decode("match_exception", message.value)
    assert (value["kind"], value["record_type"], value["record_id"]) == (
        "ack_overdue",
        "functional_group",
        "PO 1",
    )
