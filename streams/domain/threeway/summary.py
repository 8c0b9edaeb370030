"""A parsed X12 document reduced to what the three-way rules read, as JSON-able state.

Amounts and quantities are kept as Decimal strings (state is JSON). Lines are identified by
every id they carry (buyer part, vendor part, UPC, line number) so that a line can be joined
with the PO line that shares any of them (docs/domain.md §5.1: buyer part / vendor part / UPC).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from streams.domain.models.edi import (
    ChangeOrderLine,
    FreightInvoice,
    Invoice,
    InvoiceLine,
    OtherSegment,
    PurchaseOrder,
    PurchaseOrderChange,
    PurchaseOrderLine,
    ShipNotice,
    ShippedItem,
    X12Document,
)

PO, CHANGE, ASN, INVOICE, FREIGHT = "850", "860", "856", "810", "210"
ROUTED = (PO, CHANGE, ASN, INVOICE, FREIGHT)


def identities(
    item: PurchaseOrderLine | ChangeOrderLine | ShippedItem | InvoiceLine,
    line_number: str | None,
) -> list[str]:
    """The ids a line can be joined on, most specific first."""
    ids = [
        f"{kind}:{value}"
        for kind, value in (("BP", item.buyer_part), ("VP", item.vendor_part), ("UP", item.upc))
        if value
    ]
    if line_number:
        ids.append(f"LN:{line_number}")
    return ids


def routing_key(doc: X12Document) -> str | None:
    """The state row key: the PO number (850/860/856/810 of one order meet), or the 210's
    PRO number. An 856 shipping several POs is routed by its first; the worker forwards its
    part of each other PO to that PO (docs/threeway.md)."""
    if isinstance(doc, FreightInvoice):
        return f"210:{doc.pro_number}"
    if isinstance(doc, PurchaseOrder | PurchaseOrderChange | ShipNotice | Invoice):
        return doc.document_id
    return None


def split_parts(doc: X12Document) -> list[str]:
    """The other POs of an 856 shipping several: each gets its part of the notice (its
    items), routed to it; the set itself is routed by its first PO."""
    return doc.po_numbers[1:] if isinstance(doc, ShipNotice) else []


def part_key(idempotency_key: str, po: str) -> str:
    """The idempotency key of an 856's part for another PO."""
    return f"{idempotency_key}:{po}"


def carrier_key(scac: str | None) -> str:
    """The message key of a carrier's 210s and rate rows: they share a partition, so a
    rate row finds the bills it re-rates in its own partition's state."""
    return f"210:{(scac or '').strip().upper()}"


def partition_key(doc: X12Document) -> str | None:
    """The message key: the routing key, except for a 210 with a SCAC (its carrier)."""
    if isinstance(doc, FreightInvoice) and doc.carrier_scac:
        return carrier_key(doc.carrier_scac)
    return routing_key(doc)


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _priced_lines(lines: Sequence[PurchaseOrderLine | InvoiceLine]) -> list[dict[str, Any]]:
    """Ordered or invoiced lines: join ids, quantity and unit price."""
    return [
        {
            "ids": identities(line, line.line_number),
            "q": _plain(line.quantity),
            "p": _plain(line.unit_price),
        }
        for line in lines
    ]


def _places(segments: list[OtherSegment]) -> dict[str, dict[str, str]]:
    """Ship-from and ship-to of a 210: the N4 (state, postal code) of its N1 SH/SF and
    N1 CN/ST loops."""
    places: dict[str, dict[str, str]] = {}
    party = ""
    for seg in segments:
        if seg.segment_id == "N1":
            party = {"SH": "origin", "SF": "origin", "CN": "dest", "ST": "dest"}.get(
                seg.elements[0].strip() if seg.elements else "", ""
            )
        elif seg.segment_id == "N4" and party and party not in places:
            el = [e.strip() for e in seg.elements] + ["", "", ""]
            places[party] = {k: v for k, v in (("state", el[1]), ("postal", el[2])) if v}
    return places


def _freight(doc: FreightInvoice, sender: str, receiver: str) -> dict[str, Any]:
    charges = [c for line in doc.lines for c in line.charges if c.charge is not None]
    weights = [q.weight for line in doc.lines for q in line.quantities if q.weight is not None]
    weight = doc.totals.weight if doc.totals and doc.totals.weight is not None else None
    if weight is None and weights:
        weight = sum(weights, Decimal(0))
    return {
        "t": FREIGHT,
        "id": doc.pro_number,
        "po": None,
        "buyer": receiver,
        "seller": sender,
        "b3": str(doc.net_amount_due),
        "l1": str(sum((c.charge for c in charges if c.charge is not None), Decimal(0))),
        "l1_count": len(charges),
        "l3": _plain(doc.totals.charge if doc.totals else None),
        "scac": (doc.carrier_scac or "").strip().upper(),
        "weight": _plain(weight),
        "date": (doc.delivery_date or doc.invoice_date).isoformat(),
        "charges": [[c.special_charge_code, str(c.charge)] for c in charges],
        **_places(doc.other_segments),
    }


def _change(doc: PurchaseOrderChange, sender: str, receiver: str) -> dict[str, Any]:
    return {
        "t": CHANGE,
        "id": doc.po_number,
        "po": doc.po_number,
        "buyer": sender,
        "seller": receiver,
        "seq": doc.change_sequence or "",
        "cancel": doc.purpose_code == "01",
        "lines": [
            {
                "ids": identities(line, line.line_number),
                "code": line.change_code,
                "q": _plain(line.quantity),
                "p": _plain(line.unit_price),
            }
            for line in doc.lines
        ],
    }


def summarize(
    doc: X12Document, sender: str, receiver: str, po: str | None = None
) -> dict[str, Any] | None:
    """The rule facts of ``doc`` (None for a set the three-way match does not read).

    ``sender``/``receiver`` are the interchange's ISA06/ISA08: the vendor (or carrier) sends
    ASNs and invoices, the buyer sends POs; exports name them as seller and buyer. ``po``:
    for an 856, the PO whose part to summarize (default its first)."""
    if isinstance(doc, PurchaseOrder):
        return {
            "t": PO,
            "id": doc.po_number,
            "po": doc.po_number,
            "buyer": sender,
            "seller": receiver,
            "lines": _priced_lines(doc.lines),
        }
    if isinstance(doc, PurchaseOrderChange):
        return _change(doc, sender, receiver)
    if isinstance(doc, ShipNotice):
        po = po or doc.document_id
        return {
            "t": ASN,
            "id": doc.shipment_id,
            "po": po,
            "buyer": receiver,
            "seller": sender,
            "lines": [
                {"ids": identities(item, item.line_number), "q": _plain(item.quantity_shipped)}
                for item in doc.items
                # items under no PRF go with the first PO, the one the set is routed by
                if item.po_number == po or (item.po_number is None and po == doc.document_id)
            ],
        }
    if isinstance(doc, Invoice):
        sac = sum((ac.signed_amount for ac in doc.allowances_charges), Decimal(0))
        sac += sum(
            (ac.signed_amount for line in doc.lines for ac in line.allowances_charges), Decimal(0)
        )
        return {
            "t": INVOICE,
            "id": doc.invoice_number,
            "po": doc.po_number,
            "buyer": receiver,
            "seller": sender,
            "date": doc.invoice_date.isoformat(),
            "tds": str(doc.totals.total),
            "sac": str(sac),
            "lines": _priced_lines(doc.lines),
        }
    if isinstance(doc, FreightInvoice):
        return _freight(doc, sender, receiver)
    return None
