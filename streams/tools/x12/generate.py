"""A deterministic generator of valid X12 files: coherent 850/856/810 triples and 210s.

Each purchase order gets an 850, an 856 shipping it (with or without pack levels), an 810
invoicing what shipped at the PO price (TDS = lines - allowances + charges, SAC at item and
summary level), and a 210 freight invoice (B307 = L305 = sum of L104). Every builder returns
the set's segments *and* the document the extractor must produce from them (as model
fields), which is what the round-trip tests compare. :class:`Style` renders an interchange
with any delimiters, terminator, line breaks, wrapping, indentation and ISA padding.

``write_x12(path, target_bytes, seed)`` writes interchanges until the file reaches
``target_bytes``; the same seed always gives the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from streams.tools.x12.generate_base import (
    SETS_PER_TYPE,
    STYLES,
    Built,
    Order,
    Style,
    _d,
    _ids,
    _money,
    _n2,
    _r,
    _Text,
    make_order,
)

__all__ = [  # STYLES, Style and make_order live in generate_base; exported here too
    "BUILDERS",
    "STYLES",
    "Generated",
    "Group",
    "Style",
    "build_210",
    "build_810",
    "build_850",
    "build_856",
    "build_groups",
    "interchanges",
    "make_order",
    "render_interchange",
    "write_x12",
]


def build_850(order: Order, rng: random.Random, style: Style) -> Built:
    text, b = _Text(rng, style), Built("850")
    b.add("BEG", "00", "SA", order.po_number, "", _d(order.po_date))
    b.keep("REF", "DP", text.digits(3))
    b.keep("N1", "ST", text.name(), "92", text.digits(6))
    lines = []
    for n, line in enumerate(order.lines, 1):
        ids, expected = _ids(line)
        b.add("PO1", line.number, str(line.quantity), "EA", _r(line.price), "PE", *ids)
        b.context = f"PO1 {n}"
        if rng.random() < 0.5:
            b.keep("PID", "F", "", "", "", text.name())
        quantity = Decimal(line.quantity)
        lines.append({"line_number": line.number, "quantity": quantity, "unit": "EA", **expected})
        lines[-1] |= {"unit_price": line.price, "price_basis": "PE"}
    hash_total = sum(line.quantity for line in order.lines)
    total = sum((line.price * line.quantity for line in order.lines), Decimal(0))
    b.add("CTT", str(len(lines)), str(hash_total))
    b.add("AMT", "TT", _r(total))
    b.expected = {
        "purpose_code": "00",
        "order_type": "SA",
        "po_number": order.po_number,
        "po_date": order.po_date,
        "lines": lines,
        "amounts": [{"qualifier": "TT", "amount": total}],
        "line_count": len(lines),
        "hash_total": Decimal(hash_total),
    }
    return b


def build_856(order: Order, rng: random.Random, style: Style) -> Built:
    text, b = _Text(rng, style), Built("856")
    ship_date = order.po_date + timedelta(days=rng.randint(1, 20))
    shipment_id = f"SH{order.po_number[2:]}"
    b.add("BSN", "00", shipment_id, _d(ship_date), "1200", "0001")
    packed, implicit = rng.random() < 0.5, rng.random() < 0.3  # implicit: HL02 left empty
    levels: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []

    def hl(code: str, parent: str | None, child: bool) -> str:
        hl_id = str(len(levels) + 1)
        b.add("HL", hl_id, "" if implicit else parent or "", code, "1" if child else "0")
        b.context = f"HL {hl_id}"
        level: dict[str, Any] = {"hl_id": hl_id, "parent_id": parent, "level_code": code}
        levels.append(level | {"marks": [], "child_code": "1" if child else "0"})
        return hl_id

    ship = hl("S", None, True)
    b.keep("TD5", "B", "2", text.clean("FDEG"), "M")
    b.keep("REF", "BM", text.digits(10))
    order_hl = hl("O", ship, True)
    b.add("PRF", order.po_number, "", "", _d(order.po_date))
    for line in order.lines:
        pack, marks = None, []
        if packed:
            pack = hl("P", order_hl, True)
            marks = [{"qualifier": "GM", "value": "00" + text.digits(18)}]
            b.add("MAN", "GM", marks[0]["value"])
            levels[-1]["marks"] = marks
        item_hl = hl("I", pack or order_hl, False)
        ids, expected = _ids(line)
        b.add("LIN", line.number, *ids)
        b.add("SN1", "", str(line.quantity), "EA", "", str(line.quantity), "EA")
        quantity = Decimal(line.quantity)
        items.append(
            {"hl_id": item_hl, "parent_id": pack or order_hl, "po_number": order.po_number}
            | {"pack_hl_id": pack, "pack_marks": marks, "line_number": line.number, "marks": []}
            | {"quantity_shipped": quantity, "unit": "EA", "quantity_ordered": quantity}
            | {"ordered_unit": "EA", **expected}
        )
    b.add("CTT", str(len(levels)))
    b.expected = {
        "purpose_code": "00",
        "shipment_id": shipment_id,
        "ship_date": ship_date,
        "ship_time": "1200",
        "structure_code": "0001",
        "levels": levels,
        "orders": [{"hl_id": order_hl, "po_number": order.po_number, "po_date": order.po_date}],
        "items": items,
        "line_count": len(levels),
    }
    return b


def _sac(b: Built, indicator: str, code: str, amount: Decimal, what: str) -> dict[str, Any]:
    b.add("SAC", indicator, code, "", "", _n2(amount), "", "", "", "", "", "", "02", "", "", what)
    return {"indicator": indicator, "code": code, "amount": amount, "handling_code": "02"} | {
        "description": what
    }


def build_810(order: Order, rng: random.Random, style: Style) -> Built:
    text, b = _Text(rng, style), Built("810")
    invoice_date = order.po_date + timedelta(days=rng.randint(5, 30))
    invoice_number = f"INV{order.po_number[2:]}"
    b.add("BIG", _d(invoice_date), invoice_number, _d(order.po_date), order.po_number)
    b.keep("REF", "IA", text.digits(8))
    b.add("ITD", "01", "3", "2", "", "10", "", "30")
    lines, total = [], Decimal(0)
    for n, line in enumerate(order.lines, 1):
        ids, expected = _ids(line)
        b.add("IT1", line.number, str(line.quantity), "EA", _r(line.price), "", *ids)
        b.context = f"IT1 {n}"
        charges = []
        if rng.random() < 0.3:
            charges.append(_sac(b, "A", "C310", _money(rng, 1, 500), text.clean("DISCOUNT")))
        total += line.price * line.quantity - sum(c["amount"] for c in charges)
        lines.append(
            {"line_number": line.number, "quantity": Decimal(line.quantity), "unit": "EA"}
            | {"unit_price": line.price, "allowances_charges": charges}
            | {"taxes": [], **expected}
        )
    b.context = "summary"
    freight = _money(rng, 500, 20000)
    b.add("TDS", _n2(total + freight))
    b.add("TXI", "ST", "0", "0")
    summary = [_sac(b, "C", "D240", freight, text.clean("FREIGHT"))]
    b.add("CTT", str(len(lines)))
    b.expected = {
        "invoice_date": invoice_date,
        "invoice_number": invoice_number,
        "po_date": order.po_date,
        "po_number": order.po_number,
        "lines": lines,
        "allowances_charges": summary,
        "taxes": [{"tax_type": "ST", "amount": Decimal(0), "percent": Decimal(0)}],
        "terms": [
            {"type_code": "01", "basis_date_code": "3", "discount_percent": Decimal(2)}
            | {"discount_days": 10, "net_days": 30}
        ],
        "totals": {"total": total + freight},
        "line_count": len(lines),
    }
    return b


def build_210(order: Order, rng: random.Random, style: Style) -> Built:
    text, b = _Text(rng, style), Built("210")
    pro, bol = f"{rng.randint(10**8, 10**9 - 1)}", text.digits(10)
    invoice_date = order.po_date + timedelta(days=rng.randint(3, 25))
    weight, pieces = Decimal(rng.randint(50, 40000)), rng.randint(1, 30)
    charges = [_money(rng, 5000, 500000)] + ([_money(rng, 100, 9000)] if rng.random() < 0.6 else [])
    net = sum(charges, Decimal(0))
    b.add("B3", "", pro, bol, "PP", "", _d(invoice_date), _n2(net), "", _d(invoice_date))
    b.body[-1] += ["035", text.clean("ABCD")]
    b.keep("C3", "USD")
    b.keep("N1", "SH", text.name())
    b.add("LX", "1")
    b.context = "LX 1"
    description = text.clean("FREIGHT ALL KINDS")
    b.add("L5", "1", description, "100", "N")
    b.add("L0", "1", _r(weight), "FR", _r(weight), "G", "", "", str(pieces), "PLT")
    expected_charges = []
    for n, charge in enumerate(charges):
        code, what = ("", None) if n == 0 else ("405", text.clean("FUEL SURCHARGE"))
        b.add("L1", "1", "", "", _n2(charge), "", "", "", code, "", "", "", what or "")
        expected_charges.append({"lading_line": "1", "charge": charge, "description": what})
        expected_charges[-1]["special_charge_code"] = code or None
    b.add("L3", _r(weight), "G", "", "", _n2(net), "", "", "", "", "", str(pieces))
    b.expected = {
        "pro_number": pro,
        "shipment_id": bol,
        "payment_method": "PP",
        "invoice_date": invoice_date,
        "net_amount_due": net,
        "delivery_date": invoice_date,
        "date_qualifier": "035",
        "carrier_scac": text.clean("ABCD"),
        "lines": [
            {
                "assigned_number": "1",
                "descriptions": [
                    {"lading_line": "1", "description": description, "commodity_code": "100"}
                    | {"commodity_qualifier": "N"}
                ],
                "quantities": [
                    {"lading_line": "1", "billed_quantity": weight, "billed_qualifier": "FR"}
                    | {"weight": weight, "weight_qualifier": "G", "lading_quantity": pieces}
                    | {"packaging_code": "PLT"}
                ],
                "charges": expected_charges,
            }
        ],
        "totals": {"weight": weight, "weight_qualifier": "G", "charge": net}
        | {"lading_quantity": pieces},
    }
    return b


BUILDERS = {"850": build_850, "856": build_856, "810": build_810, "210": build_210}
FUNCTIONAL_IDS = {"850": "PO", "856": "SH", "810": "IN", "210": "IM"}


@dataclass(frozen=True)
class Group:
    functional_id: str
    version: str
    control_number: int
    sets: list[Built]


def render_interchange(
    style: Style, control_number: int, groups: list[Group], sender: str = "SENDER1"
) -> str:
    """The interchange as text (encode as UTF-8): ISA, groups with ST..SE sets, IEA."""
    receiver, e = "RECEIVER1", style.element
    line_break = style.terminator in ("\n", "\r\n")
    end = style.terminator + ("" if line_break or style.wrap else style.suffix)
    pad = style.pad_isa
    rep = style.repetition if style.version >= "00402" else "U"
    isa = ["ISA", "00", " " * 10 if pad else "", "00", " " * 10 if pad else "", "ZZ"]
    isa += [sender.ljust(15) if pad else sender, "ZZ", receiver.ljust(15) if pad else receiver]
    isa += ["240101", "1200", rep, style.version]
    isa += [f"{control_number:09d}" if pad else str(control_number), "0", "P", style.component]
    out = [e.join(isa) + end]
    for g in groups:
        gs = ["GS", g.functional_id, sender, receiver, "20240101", "1200", str(g.control_number)]
        out.append(style.indent + e.join([*gs, "X", g.version]) + end)
        for n, built in enumerate(g.sets, 1):
            segments = [["ST", built.set_id, f"{n:04d}"], *built.body]
            segments.append(["SE", str(len(segments) + 1), f"{n:04d}"])
            indent = [style.indent * 2] + [style.indent * 3] * (len(segments) - 2)
            for pre, seg in zip([*indent, style.indent * 2], segments, strict=True):
                out.append(pre + e.join(seg) + end)
        out.append(style.indent + e.join(["GE", str(len(g.sets)), str(g.control_number)]) + end)
    out.append(e.join(["IEA", str(len(groups)), f"{control_number:09d}"]) + end)
    text = "".join(out)
    if style.wrap:
        text = "\n".join(text[i : i + style.wrap] for i in range(0, len(text), style.wrap))
        text += "\n"
    return text


def build_groups(
    rng: random.Random, style: Style, orders: int, first_po: int, first_group: int
) -> list[Group]:
    """Four groups (850, 856, 810, 210) over ``orders`` purchase orders."""
    plans = [make_order(rng, style, first_po + n) for n in range(orders)]
    return [
        Group(
            FUNCTIONAL_IDS[set_id],
            rng.choice(("004010", "005010")),
            first_group + k,
            [BUILDERS[set_id](plan, rng, style) for plan in plans],
        )
        for k, set_id in enumerate(("850", "856", "810", "210"))
    ]


@dataclass(frozen=True)
class Generated:
    path: Path
    bytes: int
    interchanges: int
    transaction_sets: int


def interchanges(seed: int) -> Iterator[tuple[str, int]]:
    """Endless interchanges (text, number of sets) of the seed's sequence."""
    rng = random.Random(seed)
    for n in range(1, 10**9):
        style = STYLES[rng.randrange(len(STYLES))]
        groups = build_groups(rng, style, SETS_PER_TYPE, (n - 1) * SETS_PER_TYPE, 4 * n)
        yield render_interchange(style, n, groups), sum(len(g.sets) for g in groups)


def write_x12(path: Path, target_bytes: int, seed: int = 0) -> Generated:
    """Write whole interchanges until ``path`` holds at least ``target_bytes``."""
    size = count = sets = 0
    with path.open("wb") as f:
        for text, n in interchanges(seed):
            if size >= target_bytes:
                break
            data = text.encode("utf-8")
            f.write(data)
            size, count, sets = size + len(data), count + 1, sets + n
    return Generated(path, size, count, sets)
