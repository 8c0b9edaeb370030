"""The generator's building blocks: layout styles, a set under construction with the
document it must extract to, and random orders (see :mod:`generate`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

WORDS = ("ACME", "NORTH", "SUPPLY", "RETAIL", "WIDGET", "BLUE", "DC", "CO", "INC", "STEEL")
BASE_DATE = date(2024, 1, 1)
SETS_PER_TYPE = 25  # purchase orders per interchange (x4 sets: 850, 856, 810, 210)


@dataclass(frozen=True)
class Style:
    """How an interchange is written: delimiters, terminator and layout quirks."""

    element: str = "*"
    component: str = ">"
    repetition: str = "^"
    terminator: str = "~"
    suffix: str = "\n"
    """Written after each terminator: "", "\\n" or "\\r\\n" (none for line terminators)."""
    wrap: int | None = None
    """Hard-wrap the interchange at this many characters (not with line terminators)."""
    indent: str = ""
    """Written before segment ids, once per nesting level (GS 1, ST 2, body 3)."""
    pad_isa: bool = True
    version: str = "00501"

    @property
    def forbidden(self) -> str:
        """Characters data may not contain (the repetition separator may: X12 allows it)."""
        return self.element + self.component + self.terminator + "\r\n"


DEFAULT_STYLE = Style()
STYLES = (  # what write_x12 rotates through (real-world layouts)
    DEFAULT_STYLE,
    Style(terminator="~", suffix="\r\n", indent="  ", version="00401", repetition="U"),
    Style(terminator="\n", suffix="", pad_isa=False, repetition="-"),
    Style(element="|", component=":", terminator="~", suffix="", wrap=80),
    Style(element="\x1d", component="\x1f", terminator="\x1c", suffix="", repetition="{"),
    Style(terminator="§", suffix="\n", repetition="-"),
)


@dataclass
class Built:
    """One transaction set: its body (between ST and SE) and the expected document."""

    set_id: str
    body: list[list[str]] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)
    other: list[dict[str, Any]] = field(default_factory=list)
    context: str = "header"

    def add(self, *elements: str) -> list[str]:
        seg = list(elements)
        while len(seg) > 1 and seg[-1] == "":
            seg.pop()
        self.body.append(seg)
        return seg

    def keep(self, *elements: str) -> None:
        """An unmodelled segment: the extractor keeps it in ``other_segments``."""
        seg = self.add(*elements)
        self.other.append(
            {
                "segment_id": seg[0],
                "elements": seg[1:],
                "set_index": len(self.body) + 1,
                "context": self.context,
            }
        )

    def document(self) -> dict[str, Any]:
        return {**self.expected, "other_segments": self.other}


def _r(value: Decimal | int) -> str:
    return format(value, "f")


def _n2(value: Decimal) -> str:
    return str(int(value * 100))


def _d(value: date) -> str:
    return value.strftime("%Y%m%d")


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)).scaleb(-2)


class _Text:
    def __init__(self, rng: random.Random, style: Style) -> None:
        self.rng, self.bad = rng, set(style.forbidden)

    def clean(self, text: str) -> str:
        return "".join(c for c in text if c not in self.bad).strip() or "X"

    def name(self) -> str:
        return self.clean(" ".join(self.rng.sample(WORDS, self.rng.randint(1, 3))))

    def part(self) -> str:
        letters = "".join(self.rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=3))
        return self.clean(f"{letters}-{self.rng.randint(100, 99999)}")  # '-' as in real parts

    def digits(self, n: int) -> str:
        return "".join(self.rng.choices("0123456789", k=n))


@dataclass(frozen=True)
class OrderLine:
    number: str
    buyer_part: str
    vendor_part: str
    upc: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class Order:
    po_number: str
    po_date: date
    lines: list[OrderLine]


def make_order(rng: random.Random, style: Style, number: int) -> Order:
    text = _Text(rng, style)
    lines = [
        OrderLine(str(n), text.part(), text.part(), text.digits(12), rng.randint(1, 500), p)
        for n in range(1, rng.randint(1, 8) + 1)
        for p in [_money(rng, 50, 99999)]
    ]
    return Order(f"PO{number:08d}", BASE_DATE + timedelta(days=rng.randint(0, 700)), lines)


def _ids(line: OrderLine) -> tuple[list[str], dict[str, Any]]:
    pairs = [("BP", line.buyer_part), ("VP", line.vendor_part), ("UP", line.upc)]
    elements = [x for pair in pairs for x in pair]
    expected = {
        "product_ids": [{"qualifier": q, "value": v} for q, v in pairs],
        "buyer_part": line.buyer_part,
        "vendor_part": line.vendor_part,
        "upc": line.upc,
    }
    return elements, expected
