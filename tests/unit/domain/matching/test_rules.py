"""The docs/domain.md §4.4 rules on hand-picked cases: exact before tolerance, tolerance
bounds, tie-breaks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.domain.matching.rules import Leg, Tolerances, differing_fields, nearest, pair

pytestmark = pytest.mark.unit

MIN = 60_000_000
TOL = Tolerances(Decimal("0"), Decimal("0.01"), 5 * MIN)


def leg(rid: str, qty: str = "10", price: str = "50.00", minute: float = 0, v: int = 1) -> Leg:
    return Leg(rid, v, Decimal(qty), Decimal(price), round(minute * MIN))


def pairs_of(
    trades: list[Leg], confirms: list[Leg], tol: Tolerances = TOL
) -> set[tuple[str, str, str]]:
    return {
        (p.trade.record_id, p.confirm.record_id, p.match_type.value)
        for p in pair(trades, confirms, tol)
    }


def test_exact_and_tolerance_bounds_are_inclusive() -> None:
    assert pairs_of([leg("T1")], [leg("C1")]) == {("T1", "C1", "exact")}
    assert pairs_of([leg("T1")], [leg("C1", price="50.01", minute=5)]) == {
        ("T1", "C1", "tolerance")
    }
    assert pairs_of([leg("T1")], [leg("C1", price="50.011")]) == set()
    assert pairs_of([leg("T1")], [leg("C1", minute=5.001)]) == set()
    assert pairs_of([leg("T1")], [leg("C1", qty="10.5")]) == set()  # quantity tolerance 0
    wide = Tolerances(Decimal("1"), Decimal("0.01"), 5 * MIN)
    assert pairs_of([leg("T1")], [leg("C1", qty="11")], wide) == {("T1", "C1", "tolerance")}


def test_exact_beats_an_earlier_listed_tolerance_candidate() -> None:
    trades = [leg("T1")]
    confirms = [leg("C0", price="50.01"), leg("C9")]
    assert pairs_of(trades, confirms) == {("T1", "C9", "exact")}


def test_tie_break_time_then_quantity_then_price_then_lowest_id() -> None:
    wide = Tolerances(Decimal("2"), Decimal("0.05"), 5 * MIN)
    t = [leg("T1")]
    # smaller |Δtime| wins over smaller |Δprice|
    assert pairs_of(t, [leg("C1", price="50.04", minute=1), leg("C2", minute=2)], wide) == {
        ("T1", "C1", "tolerance")
    }
    # equal time: smaller |Δquantity| wins
    assert pairs_of(t, [leg("C1", qty="12", minute=1), leg("C2", qty="11", minute=1)], wide) == {
        ("T1", "C2", "tolerance")
    }
    # equal time and quantity: smaller |Δprice| wins
    assert pairs_of(t, [leg("C1", price="50.03"), leg("C2", price="49.98")], wide) == {
        ("T1", "C2", "tolerance")
    }
    # all equal: the lowest id, for confirmations and for trades alike
    assert pairs_of(t, [leg("C2", minute=-1), leg("C1", minute=1)], wide) == {
        ("T1", "C1", "tolerance")
    }
    assert pairs_of([leg("T2"), leg("T1")], [leg("C1")]) == {("T1", "C1", "exact")}


def test_each_record_is_used_once_and_the_best_pairs_go_first() -> None:
    # T1-C2 is exact; T1 would also accept C1, but C1 goes to the next best, T2.
    trades = [leg("T1", minute=0), leg("T2", minute=3)]
    confirms = [leg("C1", minute=0.5), leg("C2", minute=0)]
    assert pairs_of(trades, confirms) == {("T1", "C2", "exact"), ("T2", "C1", "tolerance")}


def test_pairing_ignores_input_order() -> None:
    trades = [leg(f"T{i}", minute=i % 3, price=f"50.0{i % 2}") for i in range(6)]
    confirms = [leg(f"C{i}", minute=(i * 2) % 5, price="50.00") for i in range(6)]
    want = pair(trades, confirms, TOL)
    assert pair(list(reversed(trades)), confirms[3:] + confirms[:3], TOL) == want


def test_nearest_and_differences_name_both_values() -> None:
    t = leg("T1", qty="10", price="50.00", minute=0)
    found = nearest(t, [leg("C2", price="51"), leg("C1", price="52")], leg_is_trade=True)
    assert found is not None and found[0].record_id == "C2"
    assert differing_fields(t, leg("C2", qty="12", price="51", minute=1)) == [
        ("quantity", "10", "12"),
        ("price", "50", "51"),
        ("trade_time", "1970-01-01T00:00:00+00:00", "1970-01-01T00:01:00+00:00"),
    ]
