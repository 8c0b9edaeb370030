"""210 re-rating against a carrier's rate table, and against a plain reference."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.models.rates import RateRow
from streams.domain.threeway import rating
from streams.domain.threeway.reference import rate_tables
from streams.domain.threeway.rules import PriceTolerance, RateAudit, evaluate
from streams.ops.threeway_report import routed_documents
from tests.unit.domain.threeway.helpers import rate_rows

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "x12"
TOL = Decimal("0.01")


def bill(**over: Any) -> dict[str, Any]:
    base = {
        "t": "210",
        "id": "PRO1",
        "scac": "FDEG",
        "weight": "1200",
        "date": "2024-11-03",
        "origin": {"state": "IL", "postal": "60601"},
        "dest": {"state": "TX", "postal": "75201"},
        "charges": [["400", "180.00"]],
    }
    return base | over


def verdicts(frt: dict[str, Any]) -> dict[str, tuple[str, Decimal | None]]:
    table = rate_tables(rate_rows())["FDEG"]
    return {a.line: (a.verdict, a.expected) for a in rating.audit(frt, table, TOL)}


def test_the_fixture_bill_is_rerated_line_by_line() -> None:
    ((_, _, frt),) = routed_fixture("rate_audit_210.edi")
    assert verdicts(frt) == {
        "linehaul": ("ok", Decimal("180.00")),  # 1200 lb at 15.00/cwt, the 1000 lb break
        "fuel": ("ok", Decimal("36.00")),  # 20 % from 2024-11-01
        "LFT": ("overbilled", Decimal("75.00")),  # billed 95.00
        "RES": ("unknown_accessorial", None),
    }


def routed_fixture(name: str) -> list[tuple[str, str, dict[str, Any]]]:
    return routed_documents([FIXTURES / name])


def test_weight_breaks_minimum_charge_and_lane_specificity() -> None:
    assert verdicts(bill(weight="700", charges=[["400", "112.00"]]))["linehaul"] == (
        "ok",
        Decimal("112.00"),  # 700 lb at the 500 lb break: 16.00/cwt
    )
    # 950 lb at 16.00/cwt is 152.00; rated as 1,000 lb at 15.00/cwt it is 150.00
    deficit = verdicts(bill(weight="950", charges=[["400", "152.00"]]))["linehaul"]
    assert deficit == ("overbilled", Decimal("150.00"))
    assert verdicts(bill(weight="100", charges=[["400", "95.00"]]))["linehaul"] == (
        "ok",
        Decimal("95.00"),  # 20.00 by rate, the minimum charge applies
    )
    # no zip-prefix lane to Denver: the catch-all lane, 30.00/cwt, min 120.00
    elsewhere = bill(dest={"state": "CO", "postal": "80202"}, charges=[["", "400.00"]])
    assert verdicts(elsewhere)["linehaul"] == ("overbilled", Decimal("360.00"))


def test_fuel_by_shipment_date_and_discounts_against_the_linehaul() -> None:
    october = bill(date="2024-10-15", charges=[["400", "200.00"], ["DSC", "-20.00"]])
    october["charges"].append(["FUE", "33.30"])
    assert verdicts(october) == {
        "linehaul": ("ok", Decimal("180.00")),  # 200.00 - 20.00 discount
        "fuel": ("ok", Decimal("33.30")),  # 18.5 % of 180.00
    }
    assert verdicts(bill(date="2024-09-30", charges=[["FUE", "1"]]))["fuel"][0] == "missing_rate"


def test_missing_rates_wait_for_the_window_and_no_table_is_not_audited() -> None:
    tables = rate_tables(rate_rows())
    frt = bill(scac="FDEG", weight=None, charges=[["400", "10.00"]])
    frt |= {"buyer": "B", "seller": "S", "b3": "10.00", "l1": "10.00", "l1_count": 1, "l3": None}
    tol = PriceTolerance()
    open_ = evaluate([frt], False, tol, RateAudit(tables))
    assert {r["kind"] for r in open_.values()} == {"matched"}
    closed = evaluate([frt], True, tol, RateAudit(tables))
    assert {r["kind"] for r in closed.values()} == {"matched", "missing_rate"}
    other = frt | {"scac": "XXXX"}
    assert {r["kind"] for r in evaluate([other], True, tol, RateAudit(tables)).values()} == {
        "matched"
    }
    strict = RateAudit(tables, require_table=True)
    (missing,) = [
        r for r in evaluate([other], True, tol, strict).values() if r["kind"] != "matched"
    ]
    assert missing["kind"] == "missing_rate" and "XXXX" in missing["details"]


def test_exceptions_carry_the_expected_and_billed_amounts() -> None:
    ((_, _, frt),) = routed_fixture("rate_audit_210.edi")
    results = evaluate([frt], True, PriceTolerance(), RateAudit(rate_tables(rate_rows())))
    found = {(r["kind"], r["line"]): r["differences"] for r in results.values()}
    assert found[("overbilled", "LFT")] == [["LFT", "95.00", "75.00"]]
    assert found[("unknown_accessorial", "RES")] == [["RES", "24.50", ""]]
    assert ("total_mismatch", "") not in found


def test_accessorials_per_cwt_and_as_a_percentage_of_the_linehaul() -> None:
    rows = [
        *rate_rows(),
        RateRow(kind="accessorial", scac="FDEG", code="HAZ", amount=Decimal("2.35"), per="cwt"),
        RateRow(kind="accessorial", scac="FDEG", code="RES", amount=Decimal(10), per="percent"),
    ]
    table = rate_tables(rows)["FDEG"]
    charges = [["400", "180.00"], ["HAZ", "28.20"], ["RES", "18.50"]]
    got = {a.line: a for a in rating.audit(bill(weight="1200", charges=charges), table, TOL)}
    assert (got["HAZ"].verdict, got["HAZ"].expected) == ("ok", Decimal("28.20"))  # 12 cwt
    assert got["HAZ"].basis == "2.35/cwt x 1200 lb"
    assert (got["RES"].verdict, got["RES"].expected) == ("overbilled", Decimal("18.00"))
    no_weight = bill(weight=None, charges=[["HAZ", "28.20"], ["RES", "1.00"]])
    got = {a.line: a for a in rating.audit(no_weight, table, TOL)}
    assert (got["HAZ"].verdict, got["RES"].verdict) == ("missing_rate", "missing_rate")
    assert "no weight" in got["HAZ"].basis and "no linehaul" in got["RES"].basis


def test_a_delete_row_takes_its_rate_key_out_of_the_table() -> None:
    gone = RateRow(kind="accessorial", scac="FDEG", code="LFT", action="delete")
    table = rate_tables([*rate_rows(), gone])["FDEG"]
    lines = {a.line: a.verdict for a in rating.audit(bill(charges=[["LFT", "75.00"]]), table, TOL)}
    assert lines == {"LFT": "unknown_accessorial"}
    back = rate_tables([*rate_rows(), gone, RateRow(kind="accessorial", scac="FDEG",
                                                    code="LFT", amount=Decimal(80))])  # fmt: skip
    assert back["FDEG"]["accessorial:LFT"]["amount"] == "80"


def test_a_later_row_replaces_the_version_of_its_rate_key() -> None:
    rows = rate_rows()
    cheaper = rows[2].model_copy(update={"rate_cwt": Decimal("14.00")})
    table = rate_tables([*rows, cheaper])["FDEG"]
    (line,) = rating.audit(bill(), table, TOL)
    assert (line.verdict, line.expected) == ("overbilled", Decimal("168.00"))


# -- plain reference ---------------------------------------------------------------------

BREAKS = st.lists(
    st.tuples(st.integers(0, 3000), st.decimals("0.50", "80.00", places=2)),
    min_size=1,
    max_size=4,
    unique_by=lambda b: b[0],
)


def plain_linehaul(
    breaks: list[tuple[int, Decimal]], minimum: Decimal, weight: int
) -> Decimal | None:
    """The tariff by hand: walk the breaks upwards, keep the last one the weight reaches;
    then each higher break at its own weight, if that is cheaper (deficit weight)."""
    reached = [(floor, per_cwt) for floor, per_cwt in sorted(breaks) if weight >= floor]
    if not reached:
        return None

    def charge(pounds: int, per_cwt: Decimal) -> Decimal:
        cents = (Decimal(pounds) * per_cwt).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return cents / 100  # the product is x100

    best = charge(weight, reached[-1][1])
    for floor, per_cwt in breaks:
        if floor > weight:
            best = min(best, charge(floor, per_cwt))
    return max(best, minimum)


@settings(max_examples=80, deadline=None)
@given(
    breaks=BREAKS,
    minimum=st.decimals("0", "200.00", places=2),
    weight=st.integers(1, 5000),
    billed=st.decimals("0", "2000.00", places=2),
    fuel=st.decimals("0", "40.0", places=1),
)
def test_rerating_agrees_with_a_plain_tariff(
    breaks: list[tuple[int, Decimal]], minimum: Decimal, weight: int, billed: Decimal, fuel: Decimal
) -> None:
    rows = [
        RateRow(kind="lane", scac="ABCD", origin="6", destination="TX", min_weight=Decimal(f),
                rate_cwt=r, min_charge=minimum)
        for f, r in breaks
    ]  # fmt: skip
    rows.append(RateRow(kind="fuel", scac="ABCD", valid_from="2024-01-01", fuel_percent=fuel))
    table = rate_tables(rows)["ABCD"]
    frt = bill(scac="ABCD", weight=str(weight), charges=[["400", str(billed)], ["FUE", "0"]])
    got = {a.line: a for a in rating.audit(frt, table, TOL)}
    want = plain_linehaul(breaks, minimum, weight)
    if want is None:
        assert got["linehaul"].verdict == got["fuel"].verdict == "missing_rate"
        return
    assert got["linehaul"].expected == want
    assert got["linehaul"].verdict == ("overbilled" if billed > want + TOL else "ok")
    want_fuel = (want * fuel / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert got["fuel"].expected == want_fuel
