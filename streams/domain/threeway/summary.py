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
    FreightInvoice,
    Invoice,
    InvoiceLine,
    PurchaseOrder,
    PurchaseOrderLine,
    ShipNotice,
    ShippedItem,
    X12Document,
)

PO, ASN, INVOICE, FREIGHT = "850", "856", "810", "210"
ROUTED = (PO, ASN, INVOICE, FREIGHT)


def identities(
    item: PurchaseOrderLine | ShippedItem | InvoiceLine, line_number: str | None
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
    """The partition key: the PO number (850/856/810 of one order meet), or the 210's PRO
    number. An 856 shipping several POs is routed by its first (docs/threeway.md)."""
    if isinstance(doc, FreightInvoice):
        return f"210:{doc.pro_number}"
    if isinstance(doc, PurchaseOrder | ShipNotice | Invoice):
        return doc.document_id
    return None


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


def summarize(doc: X12Document, sender: str, receiver: str) -> dict[str, Any] | None:
    """The rule facts of ``doc`` (None for a set the three-way match does not read).

    ``sender``/``receiver`` are the interchange's ISA06/ISA08: the vendor (or carrier) sends
    ASNs and invoices, the buyer sends POs; exports name them as seller and buyer."""
    if isinstance(doc, PurchaseOrder):
        return {
            "t": PO,
            "id": doc.po_number,
            "po": doc.po_number,
            "buyer": sender,
            "seller": receiver,
            "lines": _priced_lines(doc.lines),
        }
    if isinstance(doc, ShipNotice):
        po = doc.document_id
        return {
            "t": ASN,
            "id": doc.shipment_id,
            "po": po,
            "buyer": receiver,
            "seller": sender,
            "lines": [
                {"ids": identities(item, item.line_number), "q": _plain(item.quantity_shipped)}
                for item in doc.items
                if item.po_number in (None, po)
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
            "tds": str(doc.totals.total),
            "sac": str(sac),
            "lines": _priced_lines(doc.lines),
        }
    if isinstance(doc, FreightInvoice):
        charges = [c.charge for line in doc.lines for c in line.charges if c.charge is not None]
        return {
            "t": FREIGHT,
            "id": doc.pro_number,
            "po": None,
            "buyer": receiver,
            "seller": sender,
            "b3": str(doc.net_amount_due),
            "l1": str(sum(charges, Decimal(0))),
            "l1_count": len(charges),
            "l3": _plain(doc.totals.charge if doc.totals else None),
        }
    return None
