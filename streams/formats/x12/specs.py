"""Element layouts of the X12 segments the extractors model: (field, position, kind)."""

from __future__ import annotations

import re
from typing import Any

_INTEGER = re.compile(r"[+-]?\d+")
_IMPLIED = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")  # an explicit point is taken as written
_REAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([Ee][+-]?\d+)?")
_HL_RANK = {"S": 0, "O": 1, "T": 2, "P": 3, "Q": 3, "I": 4, "F": 5}

Fields = dict[str, Any]
Spec = tuple[tuple[str, int, str], ...]
"""(model field, element position, kind). Kinds: ``s`` text, ``r`` decimal number (R),
``n2`` number with 2 implied decimals (N2), ``i`` whole number >= 0, ``d`` date (CCYYMMDD
or YYMMDD); ``+`` negative values break a rule, ``!`` the element is mandatory."""

_BEG: Spec = (
    ("purpose_code", 1, "s!"), ("order_type", 2, "s!"), ("po_number", 3, "s!"),
    ("release_number", 4, "s"), ("po_date", 5, "d!"), ("contract_number", 6, "s"),
)  # fmt: skip
_LINE: Spec = (  # PO1 and IT1
    ("line_number", 1, "s"), ("quantity", 2, "r+"), ("unit", 3, "s"),
    ("unit_price", 4, "r+"), ("price_basis", 5, "s"),
)  # fmt: skip
_BCH: Spec = (
    ("purpose_code", 1, "s!"), ("order_type", 2, "s!"), ("po_number", 3, "s!"),
    ("release_number", 4, "s"), ("change_sequence", 5, "s"), ("po_date", 6, "d!"),
)  # fmt: skip
_POC: Spec = (
    ("line_number", 1, "s"), ("change_code", 2, "s!"), ("quantity", 3, "r+"),
    ("quantity_left", 4, "r+"), ("unit", 5, "s"), ("unit_price", 6, "r+"),
    ("price_basis", 7, "s"),
)  # fmt: skip
_AMT: Spec = (("qualifier", 1, "s!"), ("amount", 2, "r!"), ("credit_debit", 3, "s"))
_BSN: Spec = (
    ("purpose_code", 1, "s!"), ("shipment_id", 2, "s!"), ("ship_date", 3, "d!"),
    ("ship_time", 4, "s"), ("structure_code", 5, "s"),
)  # fmt: skip
_PRF: Spec = (
    ("po_number", 1, "s!"), ("release_number", 2, "s"), ("change_sequence", 3, "s"),
    ("po_date", 4, "d"),
)  # fmt: skip
_SN1: Spec = (
    ("quantity_shipped", 2, "r+!"), ("unit", 3, "s"), ("quantity_shipped_to_date", 4, "r+"),
    ("quantity_ordered", 5, "r+"), ("ordered_unit", 6, "s"),
)  # fmt: skip
_MAN: Spec = (("qualifier", 1, "s!"), ("value", 2, "s!"))
_BIG: Spec = (
    ("invoice_date", 1, "d!"), ("invoice_number", 2, "s!"), ("po_date", 3, "d"),
    ("po_number", 4, "s"), ("release_number", 5, "s"), ("change_sequence", 6, "s"),
    ("type_code", 7, "s"), ("purpose_code", 8, "s"),
)  # fmt: skip
_SAC: Spec = (
    ("indicator", 1, "s!"), ("code", 2, "s"), ("amount", 5, "n2+"),
    ("percent_qualifier", 6, "s"), ("percent", 7, "r"), ("rate", 8, "r"), ("unit", 9, "s"),
    ("quantity", 10, "r"), ("handling_code", 12, "s"), ("description", 15, "s"),
)  # fmt: skip
_TXI: Spec = (
    ("tax_type", 1, "s!"), ("amount", 2, "r"), ("percent", 3, "r"),
    ("jurisdiction_qualifier", 4, "s"), ("jurisdiction_code", 5, "s"),
    ("exemption_code", 6, "s"), ("tax_id", 9, "s"),
)  # fmt: skip
_ITD: Spec = (
    ("type_code", 1, "s"), ("basis_date_code", 2, "s"), ("discount_percent", 3, "r"),
    ("discount_due_date", 4, "d"), ("discount_days", 5, "i"), ("net_due_date", 6, "d"),
    ("net_days", 7, "i"), ("discount_amount", 8, "n2"), ("description", 12, "s"),
)  # fmt: skip
_TDS: Spec = (
    ("total", 1, "n2!"), ("subject_to_discount", 2, "n2"), ("discounted_due", 3, "n2"),
    ("terms_discount", 4, "n2"),
)  # fmt: skip
_B3: Spec = (
    ("shipment_qualifier", 1, "s"), ("pro_number", 2, "s!"), ("shipment_id", 3, "s"),
    ("payment_method", 4, "s!"), ("weight_unit", 5, "s"), ("invoice_date", 6, "d!"),
    ("net_amount_due", 7, "n2!"), ("correction_indicator", 8, "s"),
    ("delivery_date", 9, "d"), ("date_qualifier", 10, "s"), ("carrier_scac", 11, "s"),
)  # fmt: skip
_L5: Spec = (
    ("lading_line", 1, "s"), ("description", 2, "s"), ("commodity_code", 3, "s"),
    ("commodity_qualifier", 4, "s"),
)  # fmt: skip
_L0: Spec = (
    ("lading_line", 1, "s"), ("billed_quantity", 2, "r"), ("billed_qualifier", 3, "s"),
    ("weight", 4, "r+"), ("weight_qualifier", 5, "s"), ("volume", 6, "r+"),
    ("volume_unit", 7, "s"), ("lading_quantity", 8, "i"), ("packaging_code", 9, "s"),
)  # fmt: skip
_L1: Spec = (
    ("lading_line", 1, "s"), ("freight_rate", 2, "r"), ("rate_qualifier", 3, "s"),
    ("charge", 4, "n2"), ("special_charge_code", 8, "s"), ("description", 12, "s"),
)  # fmt: skip
_L3: Spec = (
    ("weight", 1, "r+"), ("weight_qualifier", 2, "s"), ("freight_rate", 3, "r"),
    ("rate_qualifier", 4, "s"), ("charge", 5, "n2"), ("advances", 6, "n2"),
    ("prepaid", 7, "n2"), ("special_charge_code", 8, "s"), ("volume", 9, "r+"),
    ("volume_unit", 10, "s"), ("lading_quantity", 11, "i"), ("weight_unit", 12, "s"),
)  # fmt: skip
