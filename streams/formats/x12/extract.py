"""From a transaction set to its document model (850, 860, 856, 810, 210), or an X12Error.

A missing mandatory segment or element, or an element that is not a number/date where one
is required, is a ``schema_violation``; a business rule broken inside a document (a negative
quantity or price, a CTT count that disagrees with the lines) is an ``invalid_value``. The
error names the segment, the element (``PO102``), the value and the segment's position.
Segments not modelled are kept, in order, in ``other_segments``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from streams.domain.models import edi as d
from streams.errors import Category
from streams.formats.x12.sets import TransactionSet
from streams.formats.x12.specs import (
    _AMT,
    _B3,
    _BCH,
    _BEG,
    _BIG,
    _BSN,
    _HL_RANK,
    _IMPLIED,
    _INTEGER,
    _ITD,
    _L0,
    _L1,
    _L3,
    _L5,
    _LINE,
    _MAN,
    _POC,
    _PRF,
    _REAL,
    _SAC,
    _SN1,
    _TDS,
    _TXI,
    Fields,
    Spec,
)
from streams.formats.x12.tokenizer import Segment, X12Error

SCHEMA, INVALID = Category.SCHEMA_VIOLATION, Category.INVALID_VALUE


def _fail(category: Category, seg: Segment, n: int, message: str) -> X12Error:
    element = f"{seg.id}{n:02d}" if n else None
    return X12Error(
        category,
        f"{element or seg.id} {message}",
        segment_id=seg.id,
        element=element,
        value=(seg.get(n) or None) if n else None,
        position=seg.position,
    )


def _convert(seg: Segment, n: int, text: str, kind: str, name: str) -> Any:
    """A non-empty element of kind ``d``, ``i``, ``r`` or ``n2`` (``+``: not negative)."""
    what = name.replace("_", " ")
    base = kind.rstrip("+!")
    if base == "d":
        return _date(seg, n, text, what)
    if not (_INTEGER if base == "i" else _IMPLIED if base == "n2" else _REAL).fullmatch(text):
        raise _fail(SCHEMA, seg, n, f"({what}) {text!r} is not a {'whole ' * (base == 'i')}number")
    if (base == "i" or "+" in kind) and text[0] == "-" and text.strip("-0.") != "":
        raise _fail(INVALID, seg, n, f"({what}) must not be negative, got {text}")
    if base == "i":
        return int(text)
    value = Decimal(text)
    return value.scaleb(-2) if base == "n2" and "." not in text else value


def _date(seg: Segment, n: int, text: str, what: str) -> date:
    """CCYYMMDD, or YYMMDD (years 69-99 are 19xx)."""
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 6 and text.isdigit():
            year = int(text[:2])
            return date(year + (1900 if year >= 69 else 2000), int(text[2:4]), int(text[4:]))
    except ValueError:
        pass
    raise _fail(SCHEMA, seg, n, f"({what}) {text!r} is not a date (CCYYMMDD)")


def _fields(seg: Segment, spec: Spec) -> dict[str, Any]:
    """The model fields ``spec`` reads from ``seg`` (the hot path: plain loops, no helpers)."""
    elements, size = seg.elements, len(seg.elements)
    out: Fields = {}
    for name, n, kind in spec:
        text = elements[n].strip() if n < size else ""
        if not text:
            if kind[-1] == "!":
                raise _fail(SCHEMA, seg, n, f"({name.replace('_', ' ')}) is missing")
            out[name] = None
        else:
            out[name] = text if kind[0] == "s" else _convert(seg, n, text, kind, name)
    return out


def _item(seg: Segment | None, first: int) -> dict[str, Any]:
    """Product id pairs from element ``first`` on, and the buyer/vendor part and UPC."""
    ids, parts = [], dict.fromkeys(("buyer_part", "vendor_part", "upc"))
    elements = seg.elements if seg is not None else ()
    for i in range(first, len(elements) - 1, 2):
        qualifier, value = elements[i].strip(), elements[i + 1].strip()
        if qualifier and value:
            ids.append({"qualifier": qualifier, "value": value})
            part = _PART_OF.get(qualifier)
            if part and parts[part] is None:
                parts[part] = value
    return {"product_ids": ids, **parts}


_PART_OF = {
    **dict.fromkeys(d.BUYER_PART_QUALIFIERS, "buyer_part"),
    **dict.fromkeys(d.VENDOR_PART_QUALIFIERS, "vendor_part"),
    **dict.fromkeys(d.UPC_QUALIFIERS, "upc"),
}


def _other(seg: Segment, set_index: int, context: str) -> dict[str, Any]:
    return {
        "segment_id": seg.id,
        "elements": seg.elements[1:],
        "set_index": set_index,
        "context": context,
    }


def _body(ts: TransactionSet) -> Iterator[tuple[int, Segment]]:
    """The segments between ST and SE with their 1-based place in the set."""
    return enumerate(ts.segments[1:-1], start=2)


def _missing(ts: TransactionSet, sid: str) -> X12Error:
    st = ts.segments[0]
    return _fail(SCHEMA, st, 0, f"{ts.set_id} {ts.control_number} has no {sid} segment")


def _line_count(ctt: Segment | None, actual: int, what: str) -> int | None:
    count: int | None = _fields(ctt, (("line_count", 1, "i"),))["line_count"] if ctt else None
    if ctt is not None and count is not None and count != actual:
        raise _fail(INVALID, ctt, 1, f"says {count} {what}, the document has {actual}")
    return count


def _purchase_order(ts: TransactionSet) -> d.PurchaseOrder:
    beg = ctt = None
    lines: list[Fields] = []
    amounts: list[Fields] = []
    other: list[Fields] = []
    context = "header"
    for i, seg in _body(ts):
        sid = seg.id
        if sid == "PO1":
            lines.append({**_fields(seg, _LINE), **_item(seg, 6)})
            context = f"PO1 {len(lines)}"
        elif sid == "BEG" and beg is None:
            beg = seg
        elif sid == "CTT" and ctt is None:
            ctt, context = seg, "summary"
        elif sid == "AMT" and context[0] != "P":
            amounts.append(_fields(seg, _AMT))
        else:
            other.append(_other(seg, i, context))
    if beg is None:
        raise _missing(ts, "BEG")
    hash_total = _fields(ctt, (("hash_total", 2, "r"),))["hash_total"] if ctt else None
    quantities = sum((line["quantity"] or Decimal(0) for line in lines), Decimal(0))
    if ctt is not None and hash_total is not None and hash_total != quantities:
        raise _fail(INVALID, ctt, 2, f"hash total is not the sum of PO102 ({quantities})")
    return d.PurchaseOrder.model_validate(
        _fields(beg, _BEG)
        | {"lines": lines, "amounts": amounts, "hash_total": hash_total, "other_segments": other}
        | {"line_count": _line_count(ctt, len(lines), "PO1 lines")}
    )


def _change_order(ts: TransactionSet) -> d.PurchaseOrderChange:
    bch = ctt = None
    lines: list[Fields] = []
    other: list[Fields] = []
    context = "header"
    for i, seg in _body(ts):
        sid = seg.id
        if sid == "POC":
            lines.append({**_fields(seg, _POC), **_item(seg, 8)})
            context = f"POC {len(lines)}"
        elif sid == "BCH" and bch is None:
            bch = seg
        elif sid == "CTT" and ctt is None:
            ctt, context = seg, "summary"
        else:
            other.append(_other(seg, i, context))
    if bch is None:
        raise _missing(ts, "BCH")
    return d.PurchaseOrderChange.model_validate(
        _fields(bch, _BCH)
        | {"lines": lines, "other_segments": other}
        | {"line_count": _line_count(ctt, len(lines), "POC lines")}
    )


def _ship_notice(ts: TransactionSet) -> d.ShipNotice:
    bsn = ctt = None
    levels: dict[str, Fields] = {}  # in file order
    other: list[Fields] = []
    level: Fields | None = None
    context = "header"
    for i, seg in _body(ts):
        sid = seg.id
        if sid == "HL":
            level = _hl(seg, levels)
            context = f"HL {level['hl_id']}"
        elif sid == "MAN" and level is not None:
            level["marks"].append(_fields(seg, _MAN))
        elif sid in ("PRF", "LIN", "SN1") and level is not None and sid not in level:
            level[sid] = seg
        elif sid == "BSN" and bsn is None:
            bsn = seg
        elif sid == "CTT" and ctt is None:
            ctt, level, context = seg, None, "summary"
        else:
            other.append(_other(seg, i, context))
    if bsn is None:
        raise _missing(ts, "BSN")
    orders = [
        {"hl_id": lv["hl_id"], **_fields(lv["PRF"], _PRF)} for lv in levels.values() if "PRF" in lv
    ]
    if not orders:
        raise _missing(ts, "PRF (purchase order number)")
    keys = ("hl_id", "parent_id", "level_code", "child_code", "marks")
    return d.ShipNotice.model_validate(
        _fields(bsn, _BSN)
        | {"levels": [{k: lv[k] for k in keys} for lv in levels.values()], "orders": orders}
        | {"items": [_shipped(lv, levels) for lv in levels.values() if "LIN" in lv or "SN1" in lv]}
        | {"line_count": _line_count(ctt, len(levels), "HL segments"), "other_segments": other}
    )


def _hl(seg: Segment, levels: dict[str, Fields]) -> Fields:
    hl_id, parent, code = seg.get(1), seg.get(2) or None, seg.get(3)
    if not hl_id or not code:
        raise _fail(SCHEMA, seg, 3 if hl_id else 1, "(HL id or level code) is missing")
    if hl_id in levels:
        raise _fail(SCHEMA, seg, 1, f"HL id {hl_id} is used twice")
    if parent is not None and parent not in levels:
        raise _fail(SCHEMA, seg, 2, f"parent HL {parent} is not an earlier HL")
    if parent is None:  # implied by order: the nearest earlier level above this one
        rank = _HL_RANK.get(code, 4)
        above = (lv for lv in reversed(levels.values()) if _HL_RANK.get(lv["level_code"], 4) < rank)
        parent = next((lv["hl_id"] for lv in above), None)
    level: Fields = {"hl_id": hl_id, "parent_id": parent, "level_code": code, "marks": []}
    level["child_code"] = seg.get(4) or None
    levels[hl_id] = level
    return level


def _shipped(level: Fields, levels: dict[str, Fields]) -> Fields:
    chain, seen = [level], {level["hl_id"]}
    while (parent := levels.get(chain[-1]["parent_id"] or "")) and parent["hl_id"] not in seen:
        chain.append(parent)
        seen.add(parent["hl_id"])
    order = next((lv for lv in chain if "PRF" in lv), None)
    pack = next((lv for lv in chain[1:] if lv["level_code"] in ("P", "T")), None)
    lin, sn1 = level.get("LIN"), level.get("SN1")
    return {
        "hl_id": level["hl_id"],
        "parent_id": level["parent_id"],
        "po_number": order["PRF"].get(1) if order else None,
        "pack_hl_id": pack["hl_id"] if pack else None,
        "pack_marks": pack["marks"] if pack else [],
        "line_number": lin.get(1) or None if lin else None,
        "marks": level["marks"],
        **(_fields(sn1, _SN1) if sn1 else dict.fromkeys(name for name, _, _ in _SN1)),
        **_item(lin, 2),
    }


def _invoice(ts: TransactionSet) -> d.Invoice:
    big = tds = ctt = None
    lines: list[Fields] = []
    charges: list[Fields] = []
    taxes: list[Fields] = []
    terms: list[Fields] = []
    other: list[Fields] = []
    po_ref: str | None = None
    zone = "header"  # header, then IT1 loops ("item"), then summary (from TDS on)
    for i, seg in _body(ts):
        sid = seg.id
        line = lines[-1] if zone == "item" else None
        if sid == "IT1":
            zone = "item"
            lines.append({**_fields(seg, _LINE), **_item(seg, 6), "allowances_charges": []})
            lines[-1]["taxes"] = []
        elif sid == "SAC":
            charge = _fields(seg, _SAC)
            if charge["indicator"] not in ("A", "C", "N"):
                raise _fail(SCHEMA, seg, 1, "is not A (allowance), C (charge) or N")
            (line["allowances_charges"] if line else charges).append(charge)
        elif sid == "TXI":
            (line["taxes"] if line else taxes).append(_fields(seg, _TXI))
        elif sid == "ITD":
            terms.append(_fields(seg, _ITD))
        elif sid == "BIG" and big is None:
            big = seg
        elif sid in ("TDS", "CTT") and (tds if sid == "TDS" else ctt) is None:
            tds, ctt, zone = (seg, ctt, "summary") if sid == "TDS" else (tds, seg, "summary")
        else:
            if sid == "REF" and zone == "header" and seg.get(1) == "PO" and po_ref is None:
                po_ref = seg.get(2) or None
            other.append(_other(seg, i, f"IT1 {len(lines)}" if zone == "item" else zone))
    if big is None:
        raise _missing(ts, "BIG")
    if tds is None:
        raise _missing(ts, "TDS")
    header = _fields(big, _BIG)
    header["po_number"] = header["po_number"] or po_ref
    if not header["po_number"]:
        raise _fail(SCHEMA, big, 4, "(purchase order number) is missing and there is no REF*PO")
    return d.Invoice.model_validate(
        header
        | {"lines": lines, "allowances_charges": charges, "taxes": taxes, "terms": terms}
        | {"totals": _fields(tds, _TDS), "other_segments": other}
        | {"line_count": _line_count(ctt, len(lines), "IT1 lines")}
    )


_FREIGHT_PARTS = {"L5": ("descriptions", _L5), "L0": ("quantities", _L0), "L1": ("charges", _L1)}


def _freight_invoice(ts: TransactionSet) -> d.FreightInvoice:
    b3 = l3 = None
    lines: list[Fields] = []
    other: list[Fields] = []
    context = "header"
    for i, seg in _body(ts):
        sid = seg.id
        part = _FREIGHT_PARTS.get(sid)
        if sid == "LX" or (part and not lines):  # L5/L0/L1 before any LX: a loop of their own
            lines.append({"assigned_number": seg.get(1) or None if sid == "LX" else None})
            lines[-1] |= {"descriptions": [], "quantities": [], "charges": []}
            context = f"LX {len(lines)}"
        if part:
            lines[-1][part[0]].append(_fields(seg, part[1]))
        elif sid == "B3" and b3 is None:
            b3 = seg
        elif sid == "L3" and l3 is None:
            l3, context = seg, "summary"
        elif sid != "LX":
            other.append(_other(seg, i, context))
    if b3 is None:
        raise _missing(ts, "B3")
    return d.FreightInvoice.model_validate(
        _fields(b3, _B3)
        | {"lines": lines, "totals": _fields(l3, _L3) if l3 else None, "other_segments": other}
    )


EXTRACTORS: dict[str, Callable[[TransactionSet], d.X12Document]] = {
    "850": _purchase_order,
    "860": _change_order,
    "856": _ship_notice,
    "810": _invoice,
    "210": _freight_invoice,
}


def extract(ts: TransactionSet) -> d.X12Document:
    """The document model of a transaction set; raises :class:`X12Error` if it is invalid."""
    extractor = EXTRACTORS.get(ts.set_id)
    try:
        if extractor is None:
            others = [_other(seg, i, "body") for i, seg in _body(ts)]
            return d.UnsupportedTransaction.model_validate(
                {"transaction_type": ts.set_id, "other_segments": others}
            )
        return extractor(ts)
    except ValidationError as exc:  # pragma: no cover - the helpers type every value
        raise _fail(SCHEMA, ts.segments[0], 0, f"does not validate: {exc}") from exc
