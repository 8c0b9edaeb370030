"""Business identity of invoices and freight bills (docs/domain.md §5.6).

The envelope key (ISA/GS/ST control numbers, §1.2) only catches a transmission replayed;
the same invoice resent in a new interchange has new control numbers. The business identity
catches it:

- an invoice (810) is (vendor, invoice number, invoice date, amount): the vendor is the
  interchange sender (ISA06), the amount the TDS total;
- a freight bill (210) is (SCAC, PRO number): B311, else the interchange sender.

References (vendor, invoice number, SCAC, PRO) are compared normalised: upper case, every
character that is not a letter or a digit dropped (spaces, ``-``, ``/``, ``.``), and the
leading zeros of every run of digits dropped (``inv-00123`` = ``INV123``; ``A0B`` stays;
runs are split by punctuation: ``1/00`` = ``1/0`` = ``10``).
Amounts compare to the cent (``100.0`` = ``100.00``), dates as ISO days.

The content of a document is the hash of its parsed model with the identity references
normalised: the model does not depend on the envelope (docs/domain.md §6), so an exact
resend has the same content.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from streams.domain.models.edi import FreightInvoice, Invoice, X12Document
from streams.domain.models.keys import digest

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_DIGITS = re.compile(r"\d+")
CENT = Decimal("0.01")


def _no_leading_zeros(run: re.Match[str]) -> str:
    return run.group().lstrip("0") or "0"


def normalise_ref(text: str) -> str:
    """A reference as compared: upper case, no leading zeros in a run of digits (a run of
    zeros alone keeps one), then letters and digits only. Runs are taken before the
    punctuation goes, so ``1/00`` is ``10``, like ``1/0``."""
    plain = _NOT_ALNUM.sub("", _DIGITS.sub(_no_leading_zeros, text.upper()))
    return _DIGITS.sub(_no_leading_zeros, plain)  # ``0/1`` joins to ``01``: once more


def normalise_amount(value: Decimal) -> str:
    return str(value.quantize(CENT))


@dataclass(frozen=True)
class Identity:
    """What identifies a document in business terms, and what it says (``facts``)."""

    kind: str
    """``invoice`` or ``freight_bill``."""
    key: str
    """The digest of the normalised identity fields."""
    label: str
    """The identity as a person reads it (``WIDGETWORKS/INV1001/2024-11-05/80.00``)."""
    content: str
    """sha256 of the parsed document: equal for an exact resend."""
    facts: dict[str, str]
    """The fields a conflict is explained with (PO, total, lines...)."""
    near: str | None = None
    """Invoices only: digest(vendor, PO, amount), the bucket near-duplicates share."""
    number: str = ""
    """The normalised invoice number (near-duplicates differ in it)."""
    day: str = ""
    """The invoice date (ISO)."""


def content_hash(doc: X12Document, **normalised: str) -> str:
    """sha256 of the document with its identity fields normalised (a resend that writes
    ``INV-001`` as ``inv1`` is still the same content)."""
    same = doc.model_copy(update=normalised)
    return hashlib.sha256(same.model_dump_json().encode()).hexdigest()


def _lines(doc: Invoice) -> str:
    return "; ".join(
        f"{line.line_number or '-'}:{line.quantity}x{line.unit_price}" for line in doc.lines
    )


def identity_of(doc: X12Document, sender: str) -> Identity | None:
    """The business identity of an 810 or a 210 (None for other documents)."""
    if isinstance(doc, Invoice):
        vendor, number = normalise_ref(sender), normalise_ref(doc.invoice_number)
        day, amount = doc.invoice_date.isoformat(), normalise_amount(doc.totals.total)
        facts = {
            "po_number": doc.po_number,
            "total": amount,
            "lines": _lines(doc),
            "allowances_charges": str(
                sum((ac.signed_amount for ac in doc.allowances_charges), Decimal(0))
            ),
        }
        return Identity(
            "invoice",
            digest("invoice", vendor, number, day, amount),
            f"{vendor}/{number}/{day}/{amount}",
            content_hash(doc, invoice_number=number),
            facts,
            near=digest("near", vendor, normalise_ref(doc.po_number), amount),
            number=number,
            day=day,
        )
    if isinstance(doc, FreightInvoice):
        scac = normalise_ref(doc.carrier_scac or sender)
        pro = normalise_ref(doc.pro_number)
        charges = [str(c.charge) for line in doc.lines for c in line.charges]
        facts = {
            "invoice_date": doc.invoice_date.isoformat(),
            "net_amount_due": normalise_amount(doc.net_amount_due),
            "charges": ", ".join(charges),
            "shipment_id": doc.shipment_id or "",
        }
        return Identity(
            "freight_bill",
            digest("freight_bill", scac, pro),
            f"{scac}/{pro}",
            content_hash(doc, pro_number=pro, carrier_scac=scac),
            facts,
            day=doc.invoice_date.isoformat(),
        )
    return None


def as_state(identity: Identity) -> dict[str, Any]:
    """The identity as JSON-able state (the pipeline hands it to the engine)."""
    return {
        "kind": identity.kind,
        "key": identity.key,
        "label": identity.label,
        "content": identity.content,
        "facts": identity.facts,
        "near": identity.near,
        "number": identity.number,
        "day": identity.day,
    }
