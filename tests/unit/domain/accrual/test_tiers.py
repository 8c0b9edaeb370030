from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.models.periods import PeriodKind, period_bounds, period_of, periods_in_window
from streams.domain.models.tiers import Tier, TierMethod, accrual, rate_at, target

pytestmark = pytest.mark.unit

D = Decimal
TIERS = (Tier(D(0), D("0.10")), Tier(D(1000), D("0.15")))


def test_domain_example_per_unit() -> None:
    assert target(D(1500), TIERS, TierMethod.RETROACTIVE) == D("225.00")
    assert target(D(1500), TIERS, TierMethod.INCREMENTAL) == D("175.00")


@pytest.mark.parametrize("x", [D(0), D(-5)])
def test_non_positive_measure_accrues_nothing(x: Decimal) -> None:
    assert accrual(x, TIERS, TierMethod.RETROACTIVE) == 0
    assert accrual(x, TIERS, TierMethod.INCREMENTAL) == 0


def test_below_first_threshold_pays_nothing() -> None:
    tiers = (Tier(D(100), D("0.5")),)
    assert rate_at(D(99), tiers) == 0
    assert accrual(D(99), tiers, TierMethod.RETROACTIVE) == 0
    assert accrual(D(150), tiers, TierMethod.INCREMENTAL) == D(25)
    assert accrual(D(150), tiers, TierMethod.RETROACTIVE) == D(75)


def test_rounding_is_half_even_at_the_target_only() -> None:
    tiers = (Tier(D(0), D("0.005")),)
    assert target(D(1), tiers, TierMethod.RETROACTIVE) == D("0.00")  # 0.005 -> 0.00
    assert target(D(3), tiers, TierMethod.RETROACTIVE) == D("0.02")  # 0.015 -> 0.02


@given(st.integers(min_value=0, max_value=10_000))
def test_incremental_never_exceeds_retroactive_for_rising_rates(units: int) -> None:
    x = D(units)
    assert accrual(x, TIERS, TierMethod.INCREMENTAL) <= accrual(x, TIERS, TierMethod.RETROACTIVE)


def test_periods() -> None:
    assert period_of(date(2026, 3, 31), PeriodKind.MONTH) == "2026-03"
    assert period_of(date(2026, 12, 1), PeriodKind.QUARTER) == "2026-Q4"
    assert periods_in_window(date(2026, 1, 15), date(2026, 3, 2), PeriodKind.MONTH) == [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert periods_in_window(date(2025, 11, 15), date(2026, 1, 2), PeriodKind.QUARTER) == [
        "2025-Q4",
        "2026-Q1",
    ]
    assert period_bounds("2026-Q1", date(2026, 2, 10), date(2026, 12, 31)) == (
        date(2026, 2, 10),
        date(2026, 3, 31),
    )
    assert period_bounds("2024-02", date(2024, 1, 1), date(2024, 12, 31))[1] == date(2024, 2, 29)
