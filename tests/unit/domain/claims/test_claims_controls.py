"""Interchange control numbers of a vendor's 849s (docs/claims.md, "EDI 844 and 849"):
never given twice, written before anything that uses them."""

from __future__ import annotations

import pytest

from streams.domain.claims import store
from streams.domain.state import DictState

pytestmark = pytest.mark.unit


def test_numbers_follow_on_per_vendor_and_never_repeat() -> None:
    state = DictState()
    assert store.next_controls(state, "ACME", 3) == 1  # 1, 2, 3
    assert store.next_controls(state, "INITECH", 1) == 1  # another partner's own numbers
    assert store.next_controls(state, "ACME", 2) == 4  # 4, 5
    assert state.get(store.control_key("ACME")) == {"n": 5}


def test_numbers_start_again_after_nine_digits_without_splitting_an_answer() -> None:
    state = DictState()
    state.put(store.control_key("ACME"), {"n": 999_999_998})
    assert store.next_controls(state, "ACME", 1) == 999_999_999
    assert store.next_controls(state, "ACME", 2) == 1  # 1 and 2, not 1,000,000,000


def test_the_counter_is_written_before_the_documents_that_use_it() -> None:
    # a crash may then skip numbers, never reuse one for an answer with other content
    counter = store.write_rank(store.control_key("ACME").encode())
    for other in ("ch:C\x1f1", "op:C\x1f1\x1f1\x1f0", "cb:C\x1f1\x1fab12", "d:k", "p:x"):
        assert counter < store.write_rank(other.encode()), other
