"""`recon claims export --responses-849` keeps the latest whole 849 answer of each claim
version: its sets in order, and never a newer answer cut short."""

from __future__ import annotations

import pytest

from streams.ops.claims_export import Answers

pytestmark = pytest.mark.unit


def test_the_sets_of_an_answer_are_joined_in_their_order() -> None:
    answers = Answers()
    answers.add("CLM-1:1", "3:2/2", b"second")
    answers.add("CLM-1:1", "3:1/2", b"first")
    assert answers.whole() == {"CLM-1:1": b"firstsecond"}


def test_a_later_answer_replaces_the_earlier_once_it_is_whole() -> None:
    answers = Answers()
    answers.add("CLM-1:1", "3:1/1", b"disputed")
    answers.add("CLM-1:1", "5:1/2", b"approved-1")
    assert answers.whole() == {"CLM-1:1": b"disputed"}  # the newer one is not whole yet
    answers.add("CLM-1:1", "5:2/2", b"approved-2")
    assert answers.whole() == {"CLM-1:1": b"approved-1approved-2"}


def test_an_answer_cut_by_a_crash_is_left_for_the_one_after_it() -> None:
    answers = Answers()
    answers.add("CLM-1:1", "4:1/3", b"cut-1")  # the crash lost sets 2 and 3 of seq 4
    answers.add("CLM-1:1", "5:1/2", b"again-1")  # the re-evaluation answers again
    answers.add("CLM-1:1", "5:2/2", b"again-2")
    answers.add("CLM-2:1", None, b"single")  # no set header: one whole set
    assert answers.whole() == {"CLM-1:1": b"again-1again-2", "CLM-2:1": b"single"}
