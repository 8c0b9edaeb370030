"""Normalisation and identity rules of invoices and freight bills (docs/domain.md §5.6)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.threeway.identity import identity_of, normalise_amount, normalise_ref
from tests.unit.domain.threeway.invoices import freight_set, interchange, invoice_set, parsed

pytestmark = pytest.mark.unit

refs = st.text(alphabet="ABCXYZabcxyz0123456789-/. ", min_size=1, max_size=16)
PUNCT = st.sampled_from(["-", "/", ".", " ", "_", "#"])


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("inv-00123", "INV123"),
        ("INV 123", "INV123"),
        ("000", "0"),
        ("A0B", "A0B"),
        ("10020", "10020"),
        ("0042/7", "427"),
        ("1/00", "10"),
        ("---", ""),
    ],
)
def test_normalise_ref_examples(text: str, want: str) -> None:
    assert normalise_ref(text) == want


@settings(max_examples=80, deadline=None)
@given(refs)
def test_normalise_is_idempotent_and_plain(text: str) -> None:
    once = normalise_ref(text)
    assert normalise_ref(once) == once
    assert re.fullmatch(r"[0-9A-Z]*", once)


@settings(max_examples=80, deadline=None)
@given(refs, st.lists(st.tuples(st.integers(0, 16), PUNCT), max_size=4), st.integers(0, 3))
def test_case_punctuation_and_leading_zeros_do_not_matter(
    text: str, inserts: list[tuple[int, str]], zeros: int
) -> None:
    # zeros before every run of digits, punctuation anywhere but inside a run
    changed = re.sub(r"\d+", lambda m: "0" * zeros + m.group(), text.swapcase())
    for at, char in inserts:
        if not changed[at - 1 : at + 1].isdigit() or at == 0:
            changed = changed[:at] + char + changed[at:]
    assert normalise_ref(changed) == normalise_ref(text)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 10**6))
def test_different_significant_digits_differ(a: int, b: int) -> None:
    assert (normalise_ref(f"INV-{a:08d}") == normalise_ref(f"inv{b}")) == (a == b)


@settings(max_examples=50, deadline=None)
@given(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False))
def test_amounts_compare_to_the_cent(value: Decimal) -> None:
    assert normalise_amount(value) == normalise_amount(value.quantize(Decimal("0.0001")))


def _invoice_identity(number: str, day: str = "20241103", control: int = 1, sender: str = "WW"):
    data = interchange(
        sender, "ACME", control, "IN", [invoice_set(number, day, "PO1", [(2, "5.00")])]
    )
    (doc,) = parsed(data)
    ident = identity_of(doc.document, sender)
    assert ident is not None
    return ident


def test_invoice_identity_ignores_envelope_and_normalises_refs() -> None:
    a = _invoice_identity("INV-0042", control=1)
    b = _invoice_identity("inv42", control=2, sender="ww")
    assert a.key == b.key
    assert a.label == "WW/INV42/2024-11-03/10.00"


def test_invoice_identity_includes_date_and_amount() -> None:
    assert _invoice_identity("INV42").key != _invoice_identity("INV42", day="20241104").key
    other = interchange(
        "WW", "ACME", 3, "IN", [invoice_set("INV42", "20241103", "PO1", [(3, "5.00")])]
    )
    (doc,) = parsed(other)
    ident = identity_of(doc.document, "WW")
    assert ident is not None and ident.key != _invoice_identity("INV42").key


def test_exact_resend_has_the_same_content_in_a_new_interchange() -> None:
    one = parsed(
        interchange("WW", "ACME", 1, "IN", [invoice_set("I1", "20241103", "PO1", [(1, "2.00")])])
    )
    two = parsed(
        interchange(
            "WW", "ACME", 9, "IN", [invoice_set("I1", "20241103", "PO1", [(1, "2.00")], "0007")]
        )
    )
    a, b = identity_of(one[0].document, "WW"), identity_of(two[0].document, "WW")
    assert a is not None and b is not None
    assert (a.key, a.content) == (b.key, b.content)
    assert one[0].idempotency_key != two[0].idempotency_key  # the envelope key differs


def test_freight_bill_identity_is_scac_and_pro() -> None:
    a = parsed(interchange("FF", "ACME", 1, "IM", [freight_set("PRO-0501", 1000)]))[0]
    b = parsed(interchange("FF", "ACME", 2, "IM", [freight_set("pro501", 2000)]))[0]
    c = parsed(interchange("FF", "ACME", 3, "IM", [freight_set("PRO501", 1000, scac="ABCD")]))[0]
    ia, ib, ic = (identity_of(x.document, "FF") for x in (a, b, c))
    assert ia is not None and ib is not None and ic is not None
    assert ia.key == ib.key and ia.content != ib.content
    assert ic.key != ia.key
    assert ia.label == "FDEG/PRO501"
