"""X12 844 (product transfer account adjustment) in, 849 (its response) out: the claim
profile of docs/claims.md, "EDI 844 and 849".

One 844 transaction set is one claim version: its header from BAA, REF, CUR, N1 and CON,
one line per PAD loop, its total in the summary AMT*TT and its line count in CTT. Errors
name the segment, the element, the value and the position, like the other sets
(docs/domain.md §6): a missing segment or element, or one that is not a number or date,
is a ``schema_violation``; a CTT that disagrees with the PAD loops, a negative amount or
another rule of the claim models (§10.1) an ``invalid_value``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.results import ClaimResult
from streams.errors import Category
from streams.formats.x12.extract import _date, _fail, _missing
from streams.formats.x12.sets import Fault, TransactionSet
from streams.formats.x12.tokenizer import Segment, X12Error

SCHEMA, INVALID = Category.SCHEMA_VIOLATION, Category.INVALID_VALUE
VERSION, PERIOD, STATUS, PART = "VERSION:", "PERIOD:", "STATUS:", "PART:"
ACCEPTED, REJECTED = "AC", "RJ"  # PAD03 of an 849 line


@dataclass(frozen=True)
class Claim844:
    header: ClaimHeader
    lines: list[ClaimLine]


def _element(seg: Segment, n: int, what: str) -> str:
    value = seg.get(n)
    if not value:
        raise _fail(SCHEMA, seg, n, f"({what}) is missing")
    return value


def _model(
    model: type[BaseModel], data: dict[str, Any], seg: Segment, at: dict[str, Segment]
) -> Any:
    """Validate with the claim models; what they refuse is reported at the segment the
    field came from (``at``), else at ``seg``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        errors.sort(key=lambda e: e["type"] != "invalid_value")
        first = errors[0]
        name = str(first["loc"][0]) if first["loc"] else "record"
        category = INVALID if first["type"] == "invalid_value" else SCHEMA
        seg = at.get(name, seg)
        raise X12Error(
            category,
            f"{seg.id} ({name}={data.get(name)!r}) {first['msg']}",
            segment_id=seg.id,
            element=name,
            value=data.get(name),
            position=seg.position,
        ) from exc


def extract_844(ts: TransactionSet) -> Claim844:
    """The claim version of an 844 set; raises :class:`X12Error` naming where it is wrong."""
    if ts.set_id != "844":
        raise _fail(SCHEMA, ts.segments[0], 1, f"is {ts.set_id}, not an 844")
    head: dict[str, Any] = {"version": "1"}
    where: dict[str, Segment] = {}
    loops: list[dict[str, Any]] = []
    loop_at: list[Segment] = []
    total = ctt = None
    for seg in ts.segments[1:-1]:
        sid, line = seg.id, loops[-1] if loops else None
        if sid == "BAA":
            head["claim_id"] = _element(seg, 3, "claim id")
            where["BAA"] = seg
        elif sid == "CUR" and line is None:
            head["currency"] = _element(seg, 2, "currency")
            where["currency"] = seg
        elif sid == "N1" and seg.get(1) in ("VN", "SU") and line is None:
            head["vendor_id"] = _element(seg, 4, "vendor id")
            where["N1"] = seg
        elif sid == "CON":
            head["agreement_id"] = _element(seg, 2, "agreement id")
            where["CON"] = seg
        elif sid == "REF" and line is None and seg.get(1) == "ZZ":
            text = seg.get(2)
            if text.startswith(VERSION):
                head["version"] = text[len(VERSION) :]
                where["version"] = seg
            elif text.startswith(PERIOD):
                head["period"] = text[len(PERIOD) :]
                where["period"] = seg
        elif sid == "PAD":
            loops.append({"claim_id": "", "version": "", "vendor_id": ""})
            loop_at.append(seg)
        elif sid == "REF" and line is not None and seg.get(1) == "TN":
            line["txn_id"] = _element(seg, 2, "transaction id")
        elif sid == "REF" and line is not None and seg.get(1) == "LI":
            line["line_no"] = _element(seg, 2, "sale line number")
        elif sid == "DTM" and line is not None and seg.get(1) == "003":
            line["sold_on"] = _date(seg, 2, _element(seg, 2, "sale date"), "sale date")
        elif sid == "LIN" and line is not None:
            line["sku"] = _sku(seg)
        elif sid == "QTY" and line is not None:
            line["qty"] = _element(seg, 2, "quantity")
        elif sid == "AMT" and seg.get(1) == "1" and line is not None:
            line["amount"] = _element(seg, 2, "line amount")
        elif sid == "CTT":
            ctt = seg
        elif sid == "AMT" and seg.get(1) == "TT":
            total = seg
    for sid in ("BAA", "N1", "CON"):
        if sid not in where:
            raise _missing(ts, sid if sid != "N1" else "N1*VN")
    if total is None:
        raise _missing(ts, "AMT*TT")
    if ctt is None:
        raise _missing(ts, "CTT")
    count = _element(ctt, 1, "number of line items")
    if count.isdigit() and int(count) != len(loops):
        raise _fail(INVALID, ctt, 1, f"says {count} PAD loops, the set has {len(loops)}")
    head["claimed_amount"] = _element(total, 2, "claimed amount")
    head["line_count"] = count
    where |= {"claimed_amount": total, "line_count": ctt, "vendor_id": where["N1"]}
    header: ClaimHeader = _model(ClaimHeader, head, where["BAA"], where)
    lines = []
    for data, seg in zip(loops, loop_at, strict=True):
        data |= {"claim_id": header.claim_id, "version": header.version}
        data["vendor_id"] = header.vendor_id
        lines.append(_model(ClaimLine, data, seg, {}))
    return Claim844(header, lines)


def _sku(seg: Segment) -> str:
    for i in range(2, len(seg.elements) - 1, 2):
        if seg.get(i) == "SK" and seg.get(i + 1):
            return seg.get(i + 1)
    raise _fail(SCHEMA, seg, 2, "(SKU) has no SK qualifier")


def _x12(segments: Sequence[str], control: str, set_id: str) -> list[str]:
    body = [f"ST*{set_id}*{control}", *segments]
    return [*body, f"SE*{len(body) + 1}*{control}"]


def write_844(claim: Claim844, control: str = "0001", on: str = "20260101") -> list[str]:
    """An 844 transaction set (ST..SE, ``*``-separated segments) of a claim version."""
    h = claim.header
    segs = [
        f"BAA*{'00' if h.version == 1 else '05'}*CR*{h.claim_id}*{on}",
        f"REF*ZZ*{VERSION}{h.version}",
        f"REF*ZZ*{PERIOD}{h.period}",
        f"CUR*SE*{h.currency}",
        f"N1*VN**92*{h.vendor_id}",
        f"CON*CT*{h.agreement_id}",
    ]
    for n, line in enumerate(claim.lines, start=1):
        segs += [
            f"PAD*{n}",
            f"REF*TN*{line.txn_id}",
            f"REF*LI*{line.line_no}",
            f"DTM*003*{line.sold_on.strftime('%Y%m%d')}",
            f"LIN**SK*{line.sku}",
            f"QTY*01*{line.qty}",
            f"AMT*1*{line.amount}",
        ]
    segs += [f"CTT*{len(claim.lines)}", f"AMT*TT*{h.claimed_amount}"]
    return _x12(segs, control, "844")


@dataclass(frozen=True)
class LineVerdict:
    """One claimed line in an 849: its sale, and the exception kind if it failed."""

    txn_id: str
    line_no: int
    kind: str  # '' when accepted


def _verdict(n: int, line: LineVerdict) -> list[str]:
    segs = [f"PAD*{n}**{REJECTED if line.kind else ACCEPTED}", f"REF*TN*{line.txn_id}"]
    segs.append(f"REF*LI*{line.line_no}")
    if line.kind:
        segs.append(f"NTE*LIN*{line.kind}")
    return segs


def write_849(
    result: ClaimResult,
    lines: Sequence[LineVerdict],
    control: str = "0001",
    on: str = "20260101",
    part_bytes: int | None = None,
) -> list[list[str]]:
    """The 849 answering one 844: the claim's status, amounts and each line's verdict, as
    one transaction set, or as several when its line segments exceed ``part_bytes``: each
    set of a split answer carries ``REF*ZZ*PART:k/n``, the claim's header and amounts, and
    its own lines (PAD01 numbers the lines across the sets, CTT counts the set's)."""
    head = [
        f"BAA*00*RS*{result.claim_id}*{on}",
        f"REF*ZZ*{VERSION}{result.version}",
        f"REF*ZZ*{PERIOD}{result.period}",
        f"REF*ZZ*{STATUS}{result.status.value}",
    ]
    party = [
        f"CUR*SE*{result.currency}",
        f"N1*VN**92*{result.vendor_id}",
        f"CON*CT*{result.agreement_id}",
    ]
    parts: list[list[list[str]]] = [[]]  # each part's lines' segments
    size = 0
    for n, line in enumerate(lines, start=1):
        segs = _verdict(n, line)
        grows = sum(len(seg) for seg in segs)
        if part_bytes is not None and parts[-1] and size + grows > part_bytes:
            parts.append([])
            size = 0
        parts[-1].append(segs)
        size += grows
    sets = []
    for k, part in enumerate(parts, start=1):
        numbered = [f"REF*ZZ*{PART}{k}/{len(parts)}"] if len(parts) > 1 else []
        body = [*head, *numbered, *party, *(seg for segs in part for seg in segs)]
        body += [f"CTT*{len(part)}", f"AMT*TT*{result.claimed}", f"AMT*ZZ*{result.accrued}"]
        sets.append(_x12(body, control, "849"))
    return sets


@dataclass(frozen=True)
class Response849:
    claim_id: str
    version: int
    status: str
    claimed: Decimal
    accrued: Decimal
    lines: list[LineVerdict]
    part: tuple[int, int] = (1, 1)  # k of n sets of a split answer


def read_849(ts: TransactionSet) -> Response849:
    """The response of an 849 set written by ``write_849`` (for tests and trading partners'
    acknowledgements); raises :class:`X12Error` when a segment it needs is missing."""
    refs: dict[str, str] = {}
    claim = ""
    amounts: dict[str, Decimal] = {}
    lines: list[dict[str, str]] = []
    for seg in ts.segments[1:-1]:
        if seg.id == "BAA":
            claim = _element(seg, 3, "claim id")
        elif seg.id == "PAD":
            lines.append({"kind": ""})
        elif seg.id == "REF" and seg.get(1) == "ZZ" and not lines:
            key, _, value = seg.get(2).partition(":")
            refs[key] = value
        elif seg.id == "REF" and lines and seg.get(1) in ("TN", "LI"):
            lines[-1][seg.get(1)] = seg.get(2)
        elif seg.id == "NTE" and lines:
            lines[-1]["kind"] = seg.get(2)
        elif seg.id == "AMT":
            amounts[seg.get(1)] = Decimal(_element(seg, 2, "amount"))
    if not claim:
        raise _missing(ts, "BAA")
    k, _, n = refs.get(PART[:-1], "1/1").partition("/")
    return Response849(
        claim,
        int(refs.get("VERSION", "1")),
        refs.get("STATUS", ""),
        amounts.get("TT", Decimal(0)),
        amounts.get("ZZ", Decimal(0)),
        [LineVerdict(x.get("TN", ""), int(x.get("LI", "0")), x["kind"]) for x in lines],
        (int(k), int(n)),
    )


def parse_claim_sets(
    items: Iterable[TransactionSet | Fault],
) -> Iterator[tuple[TransactionSet, Claim844] | Fault]:
    """Each 844 set's claim; a broken envelope, a set that is not an 844 or an 844 that
    does not extract becomes a fault (for the DLQ, with its category and position)."""
    for item in items:
        if isinstance(item, Fault):
            yield item
            continue
        try:
            yield item, extract_844(item)
        except X12Error as exc:
            raw, ids = item.raw, (item.set_id, item.control_number)
            yield Fault(exc, "transaction_set", raw, len(raw), item.interchange, item.group, *ids)


def interchange(
    sets: Sequence[Sequence[str]],
    sender: str = "RECON",
    receiver: str = "PARTNER",
    control: int = 1,
    on: str = "260101",
) -> bytes:
    """One interchange (ISA..IEA, one CF group) around ``sets``, ``~`` + newline ended."""
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*{on}*0000*U*00401"
        f"*{control:09d}*0*P*>"
    )
    segments = [isa, f"GS*CF*{sender}*{receiver}*20{on}*0000*{control}*X*004010"]
    for s in sets:
        segments += s
    segments += [f"GE*{len(sets)}*{control}", f"IEA*1*{control:09d}"]
    return "".join(f"{s}~\n" for s in segments).encode()
