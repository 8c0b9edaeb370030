"""Generated documents written with random delimiters and layouts parse back equal."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.domain.models import edi as d
from streams.tools.x12.generate import (
    STYLES,
    Style,
    build_groups,
    interchanges,
    render_interchange,
    write_x12,
)

from .helpers import docs, faults, parse_bytes, parse_fixture

pytestmark = pytest.mark.unit

MODELS: dict[str, type[Any]] = {
    "850": d.PurchaseOrder,
    "856": d.ShipNotice,
    "810": d.Invoice,
    "210": d.FreightInvoice,
}


@st.composite
def styles(draw: st.DrawFn) -> Style:
    element = draw(st.sampled_from(["*", "|", "^", "+", "!", "\x1d"]))
    component = draw(st.sampled_from([">", ":", "\\", "<", "\x1f"]))
    terminator = draw(st.sampled_from(["~", "'", "\n", "\r\n", "\x1c", "§", "¶", "#"]))
    repetition = draw(st.sampled_from(["^", "-", "{", "U"]))
    chars = [element, component, terminator, repetition]
    if len(set(chars)) < len(chars):
        draw(st.just(None).filter(lambda _: False))  # reject: delimiters must differ
    line_terminated = terminator in ("\n", "\r\n")
    wrap = None if line_terminated else draw(st.sampled_from([None, 80, 37]))
    suffix = "" if line_terminated or wrap else draw(st.sampled_from(["", "\n", "\r\n"]))
    version = "00401" if repetition == "U" else draw(st.sampled_from(["00501", "00601"]))
    return Style(
        element=element,
        component=component,
        repetition=repetition,
        terminator=terminator,
        suffix=suffix,
        wrap=wrap,
        indent=draw(st.sampled_from(["", "  ", "\t"])),
        pad_isa=draw(st.booleans()),
        version=version,
    )


def expected_documents(groups: list[Any]) -> list[Any]:
    return [MODELS[b.set_id].model_validate(b.document()) for g in groups for b in g.sets]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    style=styles(),
    seed=st.integers(0, 2**32),
    orders=st.integers(1, 3),
    control=st.integers(1, 999_999_999),
    chunk_size=st.sampled_from([3, 64, 1 << 20]),
)
def test_generated_documents_round_trip(
    style: Style, seed: int, orders: int, control: int, chunk_size: int
) -> None:
    groups = build_groups(random.Random(seed), style, orders, seed % 1000, 10)
    data = render_interchange(style, control, groups).encode("utf-8")
    items = parse_bytes(data, chunk_size)
    assert not faults(items), [f.error.message for f in faults(items)]
    parsed = docs(items)
    assert [p.document for p in parsed] == expected_documents(groups)
    isa = parsed[0].transaction_set.interchange
    assert int(isa.control_number) == control and isa.sender_id == "SENDER1"
    assert isa.delimiters.element == style.element
    assert isa.delimiters.segment == style.terminator
    assert isa.delimiters.repetition == (None if style.version < "00402" else style.repetition)
    assert len({p.idempotency_key for p in parsed}) == len(parsed)


@pytest.mark.parametrize("style", STYLES)
def test_every_generator_style_round_trips(style: Style) -> None:
    groups = build_groups(random.Random(7), style, 4, 0, 1)
    items = parse_bytes(render_interchange(style, 5, groups).encode("utf-8"))
    assert [p.document for p in docs(items)] == expected_documents(groups)


def test_generated_documents_are_coherent_for_the_three_way_match() -> None:
    groups = build_groups(random.Random(3), STYLES[0], 5, 0, 1)
    po, asn, inv, frt = (
        [MODELS[b.set_id].model_validate(b.document()) for b in g.sets] for g in groups
    )
    for order, ship, invoice, freight in zip(po, asn, inv, frt, strict=True):
        assert order.po_number == ship.document_id == invoice.po_number
        ordered = {ln.line_number: ln for ln in order.lines}
        for item in ship.items:
            assert item.quantity_shipped <= ordered[item.line_number].quantity
        lines = sum(ln.quantity * ln.unit_price for ln in invoice.lines)
        charges = [*invoice.allowances_charges]
        charges += [c for ln in invoice.lines for c in ln.allowances_charges]
        assert lines + sum(c.signed_amount for c in charges) == invoice.totals.total
        assert freight.totals.charge == freight.net_amount_due
        assert sum(c.charge for ln in freight.lines for c in ln.charges) == freight.net_amount_due


def test_write_x12_is_deterministic_and_valid(tmp_path: Path) -> None:
    a, b = tmp_path / "a.edi", tmp_path / "b.edi"
    made = write_x12(a, 300_000, seed=11)
    write_x12(b, 300_000, seed=11)
    assert a.read_bytes() == b.read_bytes()
    assert made.bytes == a.stat().st_size >= 300_000
    assert (
        hashlib.sha256(a.read_bytes()).digest()
        != hashlib.sha256(
            write_x12(tmp_path / "c.edi", 300_000, seed=12).path.read_bytes()
        ).digest()
    )
    items = parse_bytes(a.read_bytes())
    assert not faults(items)
    assert len(docs(items)) == made.transaction_sets
    types = {p.transaction_set.set_id for p in docs(items)}
    assert types == {"850", "856", "810", "210"}


def test_interchanges_vary_their_style() -> None:
    seen = {text[3] for text, _ in _take(interchanges(seed=1), 30)}
    assert len(seen) >= 3  # several element separators across the first interchanges


def _take(it: Any, n: int) -> list[Any]:
    return [next(it) for _ in range(n)]


@pytest.mark.parametrize(
    "name", ["quirk_tilde.edi", "quirk_groups_versions.edi", "quirk_tilde_crlf.edi"]
)
def test_fixture_sets_reparse_identically_from_their_raw_bytes(name: str) -> None:
    for parsed in docs(parse_fixture(name)):
        again = docs(parse_bytes(parsed.transaction_set.standalone_bytes()))
        assert again[0].document.model_dump() == parsed.document.model_dump()
