"""Pydantic models of the X12 documents the three-way match reads: 850, 860, 856, 810, 210.

Money and quantities are ``Decimal`` (implied-decimal elements such as TDS, SAC05, B307 and
L104 are already scaled: ``255438`` is ``2554.38``), dates are ``date``. Segments the
extractor does not model are kept in ``other_segments``, in file order, with their place in
the set and the loop they were in, so nothing a partner sent is dropped. A model does not
depend on where its set sat in the file: the same set parsed from another file (or from
:meth:`TransactionSet.standalone_bytes`) gives an equal model.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

BUYER_PART_QUALIFIERS = ("BP", "IN", "SK")
"""Product id qualifiers naming the buyer's part: buyer's part, item and SKU number."""
VENDOR_PART_QUALIFIERS = ("VP", "VN")
"""Vendor's part number, vendor's item number."""
UPC_QUALIFIERS = ("UP", "UK", "EN")
"""UCC-12 (UPC), GTIN-14, EAN-13."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OtherSegment(_Model):
    """A segment kept verbatim: its elements exactly as in the file (untrimmed, composites
    joined by the file's component separator)."""

    segment_id: str
    elements: list[str]
    set_index: int
    """1-based place in the transaction set (ST is 1)."""
    context: str
    """The loop it was in: ``header``, ``PO1 2``, ``HL 3``, ``IT1 1``, ``LX 1``, ``summary``."""


class ProductId(_Model):
    qualifier: str
    value: str


class _Item(_Model):
    product_ids: list[ProductId]
    buyer_part: str | None = None
    vendor_part: str | None = None
    upc: str | None = None


# -- 850 purchase order -----------------------------------------------------------------


class PurchaseOrderLine(_Item):
    line_number: str | None = None
    """PO101, the line's assigned identification (the join key with 856 LIN01 / 810 IT101)."""
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    price_basis: str | None = None


class Amount(_Model):
    qualifier: str
    amount: Decimal
    credit_debit: str | None = None


class PurchaseOrder(_Model):
    transaction_type: Literal["850"] = "850"
    purpose_code: str
    order_type: str
    po_number: str
    release_number: str | None = None
    po_date: date
    contract_number: str | None = None
    lines: list[PurchaseOrderLine]
    amounts: list[Amount]
    line_count: int | None = None
    """CTT01 (checked against the PO1 lines)."""
    hash_total: Decimal | None = None
    """CTT02 (checked against the sum of PO102)."""
    other_segments: list[OtherSegment]

    @property
    def document_id(self) -> str:
        return self.po_number


# -- 860 purchase order change ---------------------------------------------------------


class ChangeOrderLine(_Item):
    """POC: one changed line of the PO (docs/threeway.md "PO changes")."""

    line_number: str | None = None
    """POC01, the PO line's assigned identification."""
    change_code: str
    """POC02: AI add, DI delete, QI/QD quantity up/down, PC price, CA/RZ change/replace..."""
    quantity: Decimal | None = None
    """POC03, the quantity ordered after the change."""
    quantity_left: Decimal | None = None
    """POC04, quantity left to receive (kept, not applied)."""
    unit: str | None = None
    unit_price: Decimal | None = None
    price_basis: str | None = None


class PurchaseOrderChange(_Model):
    transaction_type: Literal["860"] = "860"
    purpose_code: str
    """BCH01: 01 cancels the whole order; 04 change, 05 replace..."""
    order_type: str
    po_number: str
    release_number: str | None = None
    change_sequence: str | None = None
    """BCH05: changes apply in this order (numerically when both are numbers)."""
    po_date: date
    lines: list[ChangeOrderLine]
    line_count: int | None = None
    other_segments: list[OtherSegment]

    @property
    def document_id(self) -> str:
        return self.po_number


# -- 856 ship notice --------------------------------------------------------------------


class Mark(_Model):
    """MAN: a package's marks and numbers (GM = SSCC-18, CP = carrier's package id...)."""

    qualifier: str
    value: str


class HierarchyLevel(_Model):
    hl_id: str
    parent_id: str | None = None
    """HL02; when a file leaves it empty, the nearest preceding level above this one."""
    level_code: str
    """S shipment, O order, T tare, P pack, I item..."""
    child_code: str | None = None
    marks: list[Mark]


class ShipmentOrder(_Model):
    hl_id: str
    po_number: str
    release_number: str | None = None
    change_sequence: str | None = None
    po_date: date | None = None


class ShippedItem(_Item):
    hl_id: str
    parent_id: str | None = None
    po_number: str | None = None
    """PRF01 of the nearest level at or above the item that has a PRF."""
    pack_hl_id: str | None = None
    """The nearest pack (P) or tare (T) level above the item."""
    pack_marks: list[Mark]
    line_number: str | None = None
    """LIN01."""
    quantity_shipped: Decimal | None = None
    unit: str | None = None
    quantity_shipped_to_date: Decimal | None = None
    quantity_ordered: Decimal | None = None
    ordered_unit: str | None = None
    marks: list[Mark]


class ShipNotice(_Model):
    transaction_type: Literal["856"] = "856"
    purpose_code: str
    shipment_id: str
    ship_date: date
    ship_time: str | None = None
    structure_code: str | None = None
    levels: list[HierarchyLevel]
    orders: list[ShipmentOrder]
    items: list[ShippedItem]
    line_count: int | None = None
    """CTT01: the number of HL segments (checked)."""
    other_segments: list[OtherSegment]

    @property
    def document_id(self) -> str:
        """The (first) purchase order shipped; ``po_numbers`` lists them all."""
        return self.orders[0].po_number

    @property
    def po_numbers(self) -> list[str]:
        return list(dict.fromkeys(order.po_number for order in self.orders))


# -- 810 invoice ------------------------------------------------------------------------


class AllowanceCharge(_Model):
    """SAC: A = allowance (reduces the total), C = charge (adds), N = no allowance/charge."""

    indicator: str
    code: str | None = None
    amount: Decimal | None = None
    """SAC05, 2 implied decimals."""
    percent_qualifier: str | None = None
    percent: Decimal | None = None
    rate: Decimal | None = None
    unit: str | None = None
    quantity: Decimal | None = None
    handling_code: str | None = None
    description: str | None = None

    @property
    def signed_amount(self) -> Decimal:
        """What it adds to the invoice total: +amount for a charge, -amount for an allowance."""
        amount = self.amount or Decimal(0)
        return amount if self.indicator == "C" else -amount if self.indicator == "A" else Decimal(0)


class Tax(_Model):
    tax_type: str
    amount: Decimal | None = None
    percent: Decimal | None = None
    jurisdiction_qualifier: str | None = None
    jurisdiction_code: str | None = None
    exemption_code: str | None = None
    tax_id: str | None = None


class PaymentTerms(_Model):
    type_code: str | None = None
    basis_date_code: str | None = None
    discount_percent: Decimal | None = None
    discount_due_date: date | None = None
    discount_days: int | None = None
    net_due_date: date | None = None
    net_days: int | None = None
    discount_amount: Decimal | None = None
    """ITD08, 2 implied decimals."""
    description: str | None = None


class InvoiceTotals(_Model):
    """TDS: every amount carries 2 implied decimals (``255438`` = 2554.38)."""

    total: Decimal
    subject_to_discount: Decimal | None = None
    discounted_due: Decimal | None = None
    terms_discount: Decimal | None = None


class InvoiceLine(_Item):
    line_number: str | None = None
    """IT101."""
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    price_basis: str | None = None
    allowances_charges: list[AllowanceCharge]
    """Item-level SAC (inside this IT1 loop)."""
    taxes: list[Tax]


class Invoice(_Model):
    transaction_type: Literal["810"] = "810"
    invoice_date: date
    invoice_number: str
    po_date: date | None = None
    po_number: str
    """BIG04, or the header REF*PO when BIG04 is empty."""
    release_number: str | None = None
    change_sequence: str | None = None
    type_code: str | None = None
    """BIG07 (DI debit invoice, CR credit memo...)."""
    purpose_code: str | None = None
    lines: list[InvoiceLine]
    allowances_charges: list[AllowanceCharge]
    """Header and summary-level SAC (outside the IT1 loops)."""
    taxes: list[Tax]
    terms: list[PaymentTerms]
    totals: InvoiceTotals
    line_count: int | None = None
    """CTT01 (checked against the IT1 lines)."""
    other_segments: list[OtherSegment]

    @property
    def document_id(self) -> str:
        return self.po_number


# -- 210 motor carrier freight invoice --------------------------------------------------


class FreightDescription(_Model):
    """L5."""

    lading_line: str | None = None
    description: str | None = None
    commodity_code: str | None = None
    commodity_qualifier: str | None = None


class FreightQuantity(_Model):
    """L0."""

    lading_line: str | None = None
    billed_quantity: Decimal | None = None
    billed_qualifier: str | None = None
    weight: Decimal | None = None
    weight_qualifier: str | None = None
    volume: Decimal | None = None
    volume_unit: str | None = None
    lading_quantity: int | None = None
    packaging_code: str | None = None


class FreightCharge(_Model):
    """L1: a rate and its charge (L104, 2 implied decimals; negative for a discount)."""

    lading_line: str | None = None
    freight_rate: Decimal | None = None
    rate_qualifier: str | None = None
    charge: Decimal | None = None
    special_charge_code: str | None = None
    description: str | None = None


class FreightLine(_Model):
    """One LX loop (``assigned_number`` None for L5/L0/L1 before any LX)."""

    assigned_number: str | None = None
    descriptions: list[FreightDescription]
    quantities: list[FreightQuantity]
    charges: list[FreightCharge]


class FreightTotals(_Model):
    """L3: total weight and charges (L305 to L307 carry 2 implied decimals)."""

    weight: Decimal | None = None
    weight_qualifier: str | None = None
    freight_rate: Decimal | None = None
    rate_qualifier: str | None = None
    charge: Decimal | None = None
    advances: Decimal | None = None
    prepaid: Decimal | None = None
    special_charge_code: str | None = None
    volume: Decimal | None = None
    volume_unit: str | None = None
    lading_quantity: int | None = None
    weight_unit: str | None = None


class FreightInvoice(_Model):
    transaction_type: Literal["210"] = "210"
    shipment_qualifier: str | None = None
    pro_number: str
    """B302, the carrier's invoice (PRO) number: the document id."""
    shipment_id: str | None = None
    payment_method: str
    weight_unit: str | None = None
    invoice_date: date
    net_amount_due: Decimal
    """B307, 2 implied decimals."""
    correction_indicator: str | None = None
    delivery_date: date | None = None
    date_qualifier: str | None = None
    carrier_scac: str | None = None
    lines: list[FreightLine]
    totals: FreightTotals | None = None
    other_segments: list[OtherSegment]

    @property
    def document_id(self) -> str:
        return self.pro_number


class UnsupportedTransaction(_Model):
    """A well-formed set of a type we do not model (997, 855...): all its segments kept."""

    transaction_type: str
    other_segments: list[OtherSegment]

    @property
    def document_id(self) -> None:
        return None


X12Document = (
    PurchaseOrder
    | PurchaseOrderChange
    | ShipNotice
    | Invoice
    | FreightInvoice
    | UnsupportedTransaction
)
