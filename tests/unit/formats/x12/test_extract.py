"""850, 856, 810 and 210 extraction from the fixtures; unknown segments kept; rule violations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from streams.domain.models.edi import (
    FreightInvoice,
    Invoice,
    PurchaseOrder,
    PurchaseOrderChange,
    ShipNotice,
    UnsupportedTransaction,
)
from streams.errors import Category
from streams.formats.x12 import ParsedDocument

from .helpers import docs, faults, interchange, parse_bytes, parse_fixture, x12_set

pytestmark = pytest.mark.unit


def first(name: str, set_id: str) -> ParsedDocument:
    return next(d for d in docs(parse_fixture(name)) if d.transaction_set.set_id == set_id)


def test_purchase_order_850() -> None:
    po = first("quirk_tilde.edi", "850").document
    assert isinstance(po, PurchaseOrder)
    assert (po.po_number, po.po_date, po.purpose_code, po.order_type) == (
        "4500012345",
        date(2024, 3, 15),
        "00",
        "SA",
    )
    assert [(ln.line_number, ln.quantity, ln.unit, ln.unit_price) for ln in po.lines] == [
        ("1", Decimal(120), "EA", Decimal("4.25")),
        ("2", Decimal(48), "CA", Decimal("19.99")),
    ]
    line = po.lines[0]
    assert (line.buyer_part, line.vendor_part, line.upc) == (
        "ACM-1001",
        "WID-100-BLU",
        "012345678905",
    )
    assert (line.product_ids[0].qualifier, line.product_ids[0].value) == ("BP", "ACM-1001")
    assert (po.line_count, po.hash_total) == (2, Decimal(168))
    assert [(a.qualifier, a.amount) for a in po.amounts] == [("TT", Decimal("1469.52"))]
    total = sum((ln.quantity or 0) * (ln.unit_price or 0) for ln in po.lines)
    assert total == po.amounts[0].amount
    assert po.document_id == "4500012345"


def test_unknown_segments_are_kept_with_their_place_and_loop() -> None:
    po = first("quirk_tilde.edi", "850").document
    assert isinstance(po, PurchaseOrder)
    kept = [(o.segment_id, o.set_index, o.context) for o in po.other_segments]
    assert kept == [
        ("CUR", 3, "header"),
        ("REF", 4, "header"),
        ("PER", 5, "header"),
        ("N1", 6, "header"),
        ("N3", 7, "header"),
        ("N4", 8, "header"),
        ("PID", 10, "PO1 1"),
        ("PID", 12, "PO1 2"),
    ]
    assert po.other_segments[-1].elements == ["F", "", "", "", "WIDGET CASE, RED"]


def test_ship_notice_856_with_packs() -> None:
    asn = first("quirk_tilde_crlf.edi", "856").document
    assert isinstance(asn, ShipNotice)
    assert (asn.shipment_id, asn.ship_date, asn.ship_time) == (
        "SHP778899",
        date(2024, 3, 20),
        "1430",
    )
    assert [(lv.hl_id, lv.parent_id, lv.level_code) for lv in asn.levels] == [
        ("1", None, "S"),
        ("2", "1", "O"),
        ("3", "2", "P"),
        ("4", "3", "I"),
        ("5", "2", "P"),
        ("6", "5", "I"),
    ]
    assert [(o.hl_id, o.po_number, o.po_date) for o in asn.orders] == [
        ("2", "4500012345", date(2024, 3, 15))
    ]
    first_item, second_item = asn.items
    assert (first_item.po_number, first_item.line_number, first_item.buyer_part) == (
        "4500012345",
        "1",
        "ACM-1001",
    )
    assert (first_item.pack_hl_id, [m.value for m in first_item.pack_marks]) == (
        "3",
        ["00012345670000000017"],
    )
    assert (second_item.quantity_shipped, second_item.quantity_ordered, second_item.unit) == (
        Decimal(40),
        Decimal(48),
        "CA",
    )
    assert asn.line_count == 6 and asn.document_id == "4500012345"
    assert {o.context for o in asn.other_segments} == {"HL 1"}


def test_ship_notice_without_parent_ids_infers_the_tree() -> None:
    asn = first("quirk_indented.edi", "856").document
    assert isinstance(asn, ShipNotice)
    assert [(lv.hl_id, lv.parent_id) for lv in asn.levels] == [
        ("1", None),
        ("2", "1"),
        ("3", "2"),
        ("4", "2"),
    ]
    assert [(i.po_number, i.pack_hl_id, i.quantity_shipped) for i in asn.items] == [
        ("4500012345", None, Decimal(120)),
        ("4500012345", None, Decimal(48)),
    ]
    assert asn.orders[0].po_date is None


def test_invoice_810_allowances_charges_taxes_terms() -> None:
    inv = first("quirk_tilde.edi", "810").document
    assert isinstance(inv, Invoice)
    assert (inv.invoice_number, inv.invoice_date, inv.po_number, inv.type_code) == (
        "INV-55012",
        date(2024, 3, 22),
        "4500012345",
        "DI",
    )
    assert inv.lines[0].allowances_charges == []
    item_sac = inv.lines[1].allowances_charges[0]
    assert (item_sac.indicator, item_sac.code, item_sac.amount, item_sac.description) == (
        "A",
        "C310",
        Decimal("25.00"),
        "PROMO ALLOWANCE",
    )
    assert item_sac.signed_amount == Decimal("-25.00")
    summary_sac = inv.allowances_charges[0]
    assert (summary_sac.indicator, summary_sac.amount, summary_sac.signed_amount) == (
        "C",
        Decimal("31.50"),
        Decimal("31.50"),
    )
    assert inv.totals.total == Decimal("1316.10")
    lines = sum((ln.quantity or 0) * (ln.unit_price or 0) for ln in inv.lines)
    charges = [*inv.allowances_charges, *(c for ln in inv.lines for c in ln.allowances_charges)]
    assert lines + sum(c.signed_amount for c in charges) == inv.totals.total
    zero = Decimal(0)
    assert [(t.tax_type, t.amount, t.percent) for t in inv.taxes] == [("ST", zero, zero)]
    terms = inv.terms[0]
    assert (terms.type_code, terms.discount_percent, terms.discount_days, terms.net_days) == (
        "01",
        Decimal(2),
        10,
        30,
    )
    assert inv.line_count == 2


def test_tds_amounts_carry_two_implied_decimals() -> None:
    inv = first("tds_implied_decimals.edi", "810").document
    assert isinstance(inv, Invoice)
    assert inv.totals.total == Decimal("2554.38")
    assert inv.totals.subject_to_discount == Decimal("2554.38")
    assert inv.totals.discounted_due == Decimal("2503.29")
    assert inv.totals.terms_discount == Decimal("51.09")
    assert inv.terms[0].discount_amount == Decimal("51.09")  # ITD08 is N2 too
    assert inv.lines[0].quantity * inv.lines[0].unit_price == inv.totals.total  # type: ignore[operator]


def test_freight_invoice_210() -> None:
    frt = first("quirk_groups_versions.edi", "210").document
    assert isinstance(frt, FreightInvoice)
    assert (frt.pro_number, frt.shipment_id, frt.payment_method, frt.carrier_scac) == (
        "PRO77812",
        "BOL55012",
        "PP",
        "FDEG",
    )
    assert (frt.invoice_date, frt.delivery_date, frt.net_amount_due) == (
        date(2024, 3, 21),
        date(2024, 3, 20),
        Decimal("214.25"),
    )
    (line,) = frt.lines
    assert line.assigned_number == "1"
    assert line.descriptions[0].description == "WIDGETS NOI"
    assert (line.quantities[0].weight, line.quantities[0].lading_quantity) == (Decimal("85.5"), 3)
    assert [
        (c.freight_rate, c.charge, c.special_charge_code, c.description) for c in line.charges
    ] == [
        (Decimal("195.5"), Decimal("195.50"), None, None),
        (None, Decimal("18.75"), "405", "FUEL SURCHARGE"),
    ]
    assert frt.totals is not None and frt.totals.charge == frt.net_amount_due
    assert sum(c.charge or 0 for c in line.charges) == frt.net_amount_due
    assert frt.document_id == "PRO77812"


def test_real_world_layouts() -> None:
    frt = first("layout_period_terminator_210.edi", "210")
    assert frt.transaction_set.interchange.delimiters.segment == "."
    assert frt.transaction_set.group.version == "004010X098A1"
    assert isinstance(frt.document, FreightInvoice)
    assert frt.document.invoice_date == date(2024, 3, 21)  # YYMMDD
    po = first("layout_pipe_terminator_850.edi", "850")
    delims = po.transaction_set.interchange.delimiters
    assert (delims.segment, delims.component) == ("|", "~")
    assert po.document == first("quirk_tilde.edi", "850").document


@pytest.mark.parametrize(
    "name",
    [
        "quirk_non_padded_isa.edi",
        "quirk_tilde.edi",
        "quirk_wrapped_80.edi",
        "quirk_groups_versions.edi",
        "layout_pipe_terminator_850.edi",
    ],
)
def test_the_same_purchase_order_whatever_the_layout(name: str) -> None:
    assert first(name, "850").document == first("quirk_tilde.edi", "850").document


def test_the_same_invoice_and_ship_notice_whatever_the_layout() -> None:
    invoice = first("quirk_tilde.edi", "810").document
    for name in ("quirk_newline_terminator.edi", "quirk_wrapped_80.edi"):
        assert first(name, "810").document == invoice
    asn = first("quirk_tilde_crlf.edi", "856").document
    assert first("quirk_wrapped_80.edi", "856").document == asn


def test_unicode_terminator_and_non_ascii_data() -> None:
    frt = first("quirk_unicode_terminator.edi", "210")
    assert frt.transaction_set.interchange.delimiters.segment == "§"
    assert isinstance(frt.document, FreightInvoice)
    names = [o.elements[1] for o in frt.document.other_segments if o.segment_id == "N1"]
    assert names == ["WIDGET WORKS INC", "CAFÉ ACME DC 12"]


def test_repetition_separator_colliding_with_data() -> None:
    po = first("quirk_repetition_dash.edi", "850")
    assert po.transaction_set.interchange.delimiters.repetition == "-"
    assert isinstance(po.document, PurchaseOrder)
    assert po.document.lines[1].vendor_part == "WID-200-RED"
    n1 = next(o for o in po.document.other_segments if o.segment_id == "N1")
    assert n1.elements[1] == "ACME-DC-12"


def test_unsupported_sets_keep_every_segment() -> None:
    ack = first("quirk_groups_versions.edi", "997")
    assert isinstance(ack.document, UnsupportedTransaction)
    assert ack.document_id is None
    assert [o.segment_id for o in ack.document.other_segments] == ["AK1", "AK9"]


def test_document_rules_and_schema_errors() -> None:
    items = parse_fixture("document_rules.edi")
    found = [(f.category, f.error.element, f.error.value) for f in faults(items)]
    assert found == [
        (Category.INVALID_VALUE, "PO102", "-48"),
        (Category.SCHEMA_VIOLATION, None, None),  # no BEG
        (Category.SCHEMA_VIOLATION, "BIG01", "20241399"),
        (Category.INVALID_VALUE, "CTT01", "7"),
        (Category.SCHEMA_VIOLATION, "BIG04", None),
    ]
    assert all(f.scope == "transaction_set" and f.raw.startswith(b"ST*") for f in faults(items))
    assert "BEG" in faults(items)[1].error.message
    assert [d.transaction_set.control_number for d in docs(items)] == ["0006"]


@pytest.mark.parametrize(
    ("body", "category", "element"),
    [
        ("BEG*00*SA*P1**20240101\nPO1*1*ten*EA*1.00", Category.SCHEMA_VIOLATION, "PO102"),
        ("BEG*00*SA*P1**20240101\nPO1*1*1*EA*-1.00", Category.INVALID_VALUE, "PO104"),
        ("BEG*00*SA*P1**2024010", Category.SCHEMA_VIOLATION, "BEG05"),
        ("BEG*00*SA***20240101", Category.SCHEMA_VIOLATION, "BEG03"),
        ("BEG*00*SA*P1**20240101\nPO1*1*1*EA*1\nCTT*1*2", Category.INVALID_VALUE, "CTT02"),
        ("BEG*00*SA*P1**20240101\nAMT*TT*1E", Category.SCHEMA_VIOLATION, "AMT02"),
    ],
)
def test_850_element_errors(body: str, category: Category, element: str) -> None:
    (fault,) = faults(parse_bytes(interchange(x12_set("850", body))))
    assert (fault.category, fault.error.element) == (category, element)
    assert fault.position is not None and fault.error.segment_id == element[:-2]


@pytest.mark.parametrize(
    ("set_id", "body", "category", "element"),
    [
        ("856", "BSN*00*S1*20240101\nHL*1**S\nHL*2*1*O", Category.SCHEMA_VIOLATION, None),
        ("856", "BSN*00*S1*20240101\nHL*1*9*S", Category.SCHEMA_VIOLATION, "HL02"),
        ("856", "BSN*00*S1*20240101\nHL*1**O\nPRF*P1\nHL*1*1*I", Category.SCHEMA_VIOLATION, "HL01"),
        ("856", "BSN*00*S1*20240101\nHL*1**O\nPRF*P1\nSN1**-2*EA", Category.INVALID_VALUE, "SN102"),
        ("810", "BIG*20240101*I1**P1\nIT1*1*1*EA*1\nSAC*X", Category.SCHEMA_VIOLATION, "SAC01"),
        ("810", "BIG*20240101*I1**P1\nIT1*1*1*EA*1", Category.SCHEMA_VIOLATION, None),
        ("810", "BIG*20240101*I1**P1\nTDS*12.3.4", Category.SCHEMA_VIOLATION, "TDS01"),
        ("210", "B3**PRO1**PP**20240101", Category.SCHEMA_VIOLATION, "B307"),
        ("210", "B3**PRO1**PP**20240101*100\nL0*1***-5", Category.INVALID_VALUE, "L004"),
    ],
)
def test_856_810_210_element_errors(
    set_id: str, body: str, category: Category, element: str | None
) -> None:
    (fault,) = faults(parse_bytes(interchange(x12_set(set_id, body))))
    assert (fault.category, fault.error.element) == (category, element), fault.error.message


def test_invoice_po_number_from_ref_po_when_big04_is_empty() -> None:
    body = "BIG*20240101*I1\nREF*PO*PO-FROM-REF\nIT1*1*2*EA*3.5\nTDS*700"
    (parsed,) = docs(parse_bytes(interchange(x12_set("810", body))))
    assert isinstance(parsed.document, Invoice)
    assert parsed.document_id == "PO-FROM-REF"
    assert parsed.document.totals.total == Decimal("7.00")


def test_explicit_decimal_point_in_an_implied_decimal_element_is_taken_as_written() -> None:
    body = "BIG*20240101*I1**P1\nTDS*2554.38"
    (parsed,) = docs(parse_bytes(interchange(x12_set("810", body))))
    assert isinstance(parsed.document, Invoice)
    assert parsed.document.totals.total == Decimal("2554.38")


def test_documents_serialise_to_json_lines_shape() -> None:
    parsed = first("quirk_tilde.edi", "810")
    line = parsed.as_dict()
    assert set(line) >= {"type", "control_number", "interchange", "group", "position", "document"}
    assert line["type"] == "810" and line["document_id"] == "4500012345"
    assert line["document"]["totals"]["total"] == "1316.10"  # type: ignore[index]
    assert line["position"]["segment_index"] == parsed.transaction_set.position.segment_index  # type: ignore[index]


def test_change_order_860() -> None:
    change = first("po_lifecycle.edi", "860").document
    assert isinstance(change, PurchaseOrderChange)
    assert (change.purpose_code, change.po_number, change.change_sequence, change.po_date) == (
        "04",
        "PO2001",
        "1",
        date(2024, 11, 1),
    )
    assert [
        (ln.line_number, ln.change_code, ln.quantity, ln.unit_price, ln.buyer_part)
        for ln in change.lines
    ] == [
        ("1", "QI", Decimal(15), Decimal("5.00"), "A-1"),
        ("2", "DI", Decimal(0), None, "A-2"),
        ("3", "AI", Decimal(2), Decimal("7.50"), "A-3"),
    ]
    assert change.line_count == 3
    assert [(s.segment_id, s.context) for s in change.other_segments] == [("REF", "header")]


def test_change_order_without_bch_or_with_a_wrong_count_is_rejected() -> None:
    no_bch = interchange(x12_set("860", "POC*1*QI*5**EA*1.00"), functional_id="PC")
    (fault,) = faults(parse_bytes(no_bch))
    assert fault.error.category is Category.SCHEMA_VIOLATION and "BCH" in str(fault.error)
    bad_count = interchange(
        x12_set("860", "BCH*04*SA*PO9*1*1*20241101\nPOC*1*QI*5**EA\nCTT*2"), functional_id="PC"
    )
    (fault,) = faults(parse_bytes(bad_count))
    assert fault.error.category is Category.INVALID_VALUE and fault.error.element == "CTT01"


def test_a_ship_notice_of_several_purchase_orders() -> None:
    asn = first("po_lifecycle.edi", "856").document
    assert isinstance(asn, ShipNotice)
    assert asn.po_numbers == ["PO2001", "PO2002"]
    assert [(i.po_number, i.buyer_part, i.quantity_shipped) for i in asn.items] == [
        ("PO2001", "A-1", Decimal(15)),
        ("PO2001", "A-3", Decimal(2)),
        ("PO2002", "B-1", Decimal(6)),
    ]
