"""Small X12 810/210 interchanges for the duplicate tests, parsed by the project's reader."""

from __future__ import annotations

import io
from typing import Any

from streams.domain.threeway.identity import as_state, identity_of
from streams.domain.threeway.summary import routing_key, summarize
from streams.formats.x12 import ParsedDocument, X12Reader, parse_sets


def _isa(sender: str, receiver: str, control: int, version: str = "00501") -> str:
    return (
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*241104*0900*^*"
        f"{version}*{control:09d}*0*P*>~"
    )


def interchange(
    sender: str, receiver: str, control: int, fid: str, sets: list[str], version: str = "005010"
) -> bytes:
    body = "".join(sets)
    isa = _isa(sender, receiver, control, "00401" if version.startswith("004") else "00501")
    return (
        f"{isa}GS*{fid}*{sender}*{receiver}*20241104*0900*{control}*X*{version}~{body}"
        f"GE*{len(sets)}*{control}~IEA*1*{control:09d}~"
    ).encode()


def invoice_set(
    number: str, day: str, po: str, lines: list[tuple[int, str]], st02: str = "0001"
) -> str:
    """An 810: each line (quantity, unit price); TDS is their total in cents."""
    segs = [f"BIG*{day}*{number}**{po}"]
    total = 0
    for i, (qty, price) in enumerate(lines, start=1):
        segs.append(f"IT1*{i}*{qty}*EA*{price}**BP*P-{i}")
        total += round(qty * float(price) * 100)
    segs.append(f"TDS*{total}")
    segs.append(f"CTT*{len(lines)}")
    body = "".join(f"{s}~" for s in segs)
    return f"ST*810*{st02}~{body}SE*{len(segs) + 2}*{st02}~"


def freight_set(pro: str, cents: int, scac: str = "FDEG", st02: str = "0001") -> str:
    segs = [f"B3**{pro}**PP*L*20241104*{cents}**20241103*035*{scac}", "LX*1", f"L1*1***{cents}"]
    body = "".join(f"{s}~" for s in segs)
    return f"ST*210*{st02}~{body}SE*{len(segs) + 2}*{st02}~"


def parsed(data: bytes) -> list[ParsedDocument]:
    out = []
    for item in parse_sets(X12Reader(io.BytesIO(data))):
        assert isinstance(item, ParsedDocument), item
        out.append(item)
    return out


def routed(data: bytes) -> list[tuple[str, str, dict[str, Any], dict[str, Any] | None]]:
    """(routing key, idempotency key, summary, identity) as the agent hands them over."""
    out = []
    for item in parsed(data):
        ts = item.transaction_set
        sender, receiver = ts.interchange.sender_id, ts.interchange.receiver_id
        summary = summarize(item.document, sender, receiver)
        key = routing_key(item.document)
        assert summary is not None and key is not None
        ident = identity_of(item.document, sender)
        out.append((key, item.idempotency_key, summary, as_state(ident) if ident else None))
    return out
