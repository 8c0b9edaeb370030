"""The per-asset book: duplicates, new versions, and the same final inventory as the plain
reference for any interleaving and duplication of manifests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.inventory.book import InventoryBook
from streams.domain.inventory.reference import final_inventory
from streams.domain.inventory.rows import COLUMNS, InventoryRow, validate_row
from streams.domain.models.outcome import Outcome
from streams.domain.state import DictState

pytestmark = pytest.mark.unit


def row(
    asset: str = "A1", grant: str = "NIH-1", qty: int = 1, loc: str = "BIO-1-1"
) -> InventoryRow:
    return validate_row(COLUMNS, [asset, grant, "reagent", str(qty), loc, "2024-01-02"], "t")


def test_same_content_is_a_duplicate_and_a_change_is_a_new_version() -> None:
    book = InventoryBook(DictState())
    first = book.apply(row(qty=1), 100, "r:1")
    assert first.outcome is Outcome.APPLIED and first.change is not None
    assert first.change.kind == "created" and first.change.asset_key == "A1:NIH-1"
    again = book.apply(row(qty=1), 200, "r:2")
    assert again.outcome is Outcome.DUPLICATE and again.change is None
    assert again.idempotency_key == first.idempotency_key
    changed = book.apply(row(qty=5), 300, "r:3")
    assert changed.outcome is Outcome.APPLIED and changed.change is not None
    assert changed.change.kind == "updated"
    assert changed.change.previous_hash == first.change.content_hash
    assert book.current("A1:NIH-1")["row"]["quantity"] == 5  # type: ignore[index]


def test_an_older_version_changes_nothing_and_its_copy_is_a_duplicate() -> None:
    book = InventoryBook(DictState())
    book.apply(row(qty=5), 300, "r:1")
    late = book.apply(row(qty=1), 100, "r:2")
    assert late.outcome is Outcome.APPLIED and late.change is None
    assert book.apply(row(qty=1), 100, "r:3").outcome is Outcome.DUPLICATE
    assert book.current("A1:NIH-1")["row"]["quantity"] == 5  # type: ignore[index]


def test_the_owner_reprocessed_stays_applied_with_the_same_event() -> None:
    book = InventoryBook(DictState())
    first = book.apply(row(qty=2), 100, "r:1")
    again = book.apply(row(qty=2), 100, "r:1")
    assert again.outcome is Outcome.APPLIED and again.change == first.change


def test_a_resubmitted_unchanged_row_keeps_its_place_in_time() -> None:
    # A@1, A@3 (a duplicate that raises A's time), then B@2: A must stay current, as the
    # reference says, whatever the arrival order.
    book = InventoryBook(DictState())
    book.apply(row(qty=1), 1, "r:1")
    assert book.apply(row(qty=1), 3, "r:2").outcome is Outcome.DUPLICATE
    book.apply(row(qty=2), 2, "r:3")
    assert book.current("A1:NIH-1")["row"]["quantity"] == 1  # type: ignore[index]


ROWS = st.builds(
    row,
    asset=st.sampled_from(["A1", "A2", "B7"]),
    grant=st.sampled_from(["NIH-1", "nsf-22", "EPA-X"]),
    qty=st.integers(0, 3),
    loc=st.sampled_from(["BIO-1-1", "CHEM-214-S3"]),
)
MANIFESTS = st.lists(
    st.tuples(st.integers(0, 5), st.lists(ROWS, min_size=1, max_size=6)), min_size=1, max_size=5
)


@settings(max_examples=80, deadline=None)
@given(MANIFESTS, st.data())
def test_any_interleaving_and_duplication_gives_the_reference_inventory(
    manifests: list[tuple[int, list[InventoryRow]]], data: st.DataObject
) -> None:
    versions = [(r, at) for at, rows in manifests for r in rows]
    # every row is delivered at least once, some more, in any order
    copies = data.draw(st.lists(st.integers(1, 3), min_size=len(versions), max_size=len(versions)))
    delivered = [v for v, n in zip(versions, copies, strict=True) for _ in range(n)]
    order = data.draw(st.permutations(range(len(delivered))))
    book = InventoryBook(DictState())
    compacted: dict[str, dict[str, object]] = {}  # the inventory topic, compacted
    for i in order:
        r, at = delivered[i]
        result = book.apply(r, at, f"run:{i}")
        if result.change is not None:
            assert result.outcome is Outcome.APPLIED
            compacted[result.change.asset_key] = result.change.row
    want = final_inventory(versions)
    got = {key: book.current(key)["row"] for key in want}  # type: ignore[index]
    assert got == want
    assert compacted == want  # the last event of each asset is its final version
