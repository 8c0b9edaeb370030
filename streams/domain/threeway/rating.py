"""Re-rating a 210 freight invoice against its carrier's rate table (pure, Decimal).

The bill's L1 charges are grouped into *lines* by their L108 special charge code: the
linehaul (no code, ``400`` or ``FRT``; negative charges, i.e. discounts, count against
the linehaul), the fuel surcharge (``FUE``, ``FSC``, ``405``) and one line per
accessorial code. Each line's billed amount is compared with what the table says:

- linehaul: the lane whose origin and destination match the bill's ship-from and ship-to
  most specifically (postal-code prefix, longer first, then state code, then ``*``); in it
  the highest weight break at or below the billed weight; ``weight / 100 * rate_cwt``
  rounded half-up to the cent, or the charge of a higher break at its own weight when that
  is less (deficit weight), but at least ``min_charge`` of the break the weight reaches;
- fuel: ``fuel_percent`` % of the *expected* linehaul, rounded half-up to the cent, with
  the fuel row in force on the shipment date (the latest ``valid_from`` covering it);
- an accessorial: its ``amount`` for each L1 line that bills it, or, as its row's ``per``
  says, per hundred pounds of the shipment weight, or as a percentage of the expected
  linehaul, rounded half-up to the cent.

A line billed more than the expected amount plus the tolerance is ``overbilled``; an
accessorial the table does not price is ``unknown_accessorial``; no lane, no weight
break, no weight or no fuel row is ``missing_rate``. Billing less than expected is not an
exception (the carrier's loss, not ours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
LINEHAUL, FUEL = "linehaul", "fuel"
LINEHAUL_CODES = frozenset({"", "400", "FRT"})
FUEL_CODES = frozenset({"FUE", "FSC", "405"})
OK, OVERBILLED, UNKNOWN_ACCESSORIAL, MISSING_RATE = (
    "ok",
    "overbilled",
    "unknown_accessorial",
    "missing_rate",
)


@dataclass(frozen=True)
class LineAudit:
    line: str
    """``linehaul``, ``fuel`` or the accessorial code."""
    verdict: str
    billed: Decimal
    expected: Decimal | None
    basis: str
    """How the expected amount was found (or why it could not be)."""


def charge_line(code: str | None, charge: Decimal) -> str:
    """The audit line an L1 charge belongs to."""
    code = (code or "").strip().upper()
    if charge < 0 or code in LINEHAUL_CODES:
        return LINEHAUL
    return FUEL if code in FUEL_CODES else code


def billed_lines(charges: list[tuple[str | None, Decimal]]) -> dict[str, tuple[Decimal, int]]:
    """Line -> (billed amount, number of L1 lines), from (L108, L104) pairs."""
    out: dict[str, tuple[Decimal, int]] = {}
    for code, charge in charges:
        line = charge_line(code, charge)
        amount, count = out.get(line, (Decimal(0), 0))
        out[line] = (amount + charge, count + (charge >= 0))
    return out


def round_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _specificity(pattern: str, place: Mapping[str, str]) -> int | None:
    """How specifically a lane end matches a place (None: it does not)."""
    if pattern == "*":
        return 0
    postal = place.get("postal", "")
    if postal and postal.startswith(pattern):
        return 2 + len(pattern)
    if pattern == place.get("state", ""):
        return 1
    return None


def linehaul(
    table: Mapping[str, Mapping[str, str]],
    origin: Mapping[str, str],
    dest: Mapping[str, str],
    weight: Decimal | None,
) -> tuple[Decimal | None, str]:
    """The expected linehaul and how it was found, or (None, why not)."""
    if weight is None:
        return None, "the bill has no weight (L0/L3)"
    lanes: dict[tuple[str, str], tuple[int, int]] = {}
    for row in table.values():
        if row["kind"] != "lane":
            continue
        so = _specificity(row["origin"], origin)
        sd = _specificity(row["destination"], dest)
        if so is not None and sd is not None:
            lanes[(row["origin"], row["destination"])] = (so + sd, so)
    if not lanes:
        return None, f"no lane from {_place(origin)} to {_place(dest)}"
    lane = max(lanes, key=lambda k: (lanes[k], k))
    rows = [
        r for r in table.values() if r["kind"] == "lane" and (r["origin"], r["destination"]) == lane
    ]
    breaks = [r for r in rows if Decimal(r["min_weight"]) <= weight]
    if not breaks:
        return None, f"lane {lane[0]}-{lane[1]} has no weight break at or below {weight} lb"
    row = max(breaks, key=lambda r: Decimal(r["min_weight"]))
    rated = round_cent(weight * Decimal(row["rate_cwt"]) / 100)
    how = (
        f"lane {lane[0]}-{lane[1]} break {row['min_weight']} lb: "
        f"{weight} lb at {row['rate_cwt']}/cwt = {rated}"
    )
    # Deficit weight: rated as the weight of a higher break when that costs less (the
    # cheapest such break; the first listed of equal ones).
    deficits = [
        (round_cent(Decimal(r["min_weight"]) * Decimal(r["rate_cwt"]) / 100), r)
        for r in sorted(rows, key=lambda r: Decimal(r["min_weight"]))
        if Decimal(r["min_weight"]) > weight
    ]
    cheapest = min(deficits, key=lambda d: d[0], default=None)
    if cheapest is not None and cheapest[0] < rated:
        rated, higher = cheapest
        how += f", deficit weight {higher['min_weight']} lb at {higher['rate_cwt']}/cwt = {rated}"
    minimum = round_cent(Decimal(row["min_charge"]))
    return max(rated, minimum), how + (f", minimum {minimum}" if minimum > rated else "")


def fuel_row(table: Mapping[str, Mapping[str, str]], day: date) -> Mapping[str, str] | None:
    covering = [
        r
        for r in table.values()
        if r["kind"] == "fuel"
        and date.fromisoformat(r["valid_from"]) <= day
        and ("valid_to" not in r or day <= date.fromisoformat(r["valid_to"]))
    ]
    return max(covering, key=lambda r: r["valid_from"]) if covering else None


def accessorial(
    price: Mapping[str, str],
    count: int,
    weight: Decimal | None,
    base: Decimal | None,
    how: str,
) -> tuple[Decimal | None, str]:
    """The expected amount of an accessorial billed on ``count`` L1 lines, by its price's
    ``per``: each line (flat), each hundred pounds of the shipment, or a percentage of the
    expected linehaul ``base`` (found as ``how``); (None, why not) when that is missing."""
    per, amount = price.get("per", "line"), Decimal(price["amount"])
    if per == "cwt":
        if weight is None:
            return None, f"{amount}/cwt, but the bill has no weight (L0/L3)"
        return round_cent(weight * amount / 100), f"{amount}/cwt x {weight} lb"
    if per == "percent":
        if base is None:
            return None, f"{amount}% of linehaul, but there is no linehaul ({how})"
        return round_cent(base * amount / 100), f"{amount}% of linehaul {base}"
    return round_cent(amount * max(count, 1)), f"{price['amount']} x {max(count, 1)}"


def _place(place: Mapping[str, str]) -> str:
    return place.get("postal") or place.get("state") or "?"


def audit(
    frt: Mapping[str, Any], table: Mapping[str, Mapping[str, str]], tolerance: Decimal
) -> list[LineAudit]:
    """Every billed line of the 210 summary ``frt`` against its carrier's ``table``."""
    charges = [(code, Decimal(amount)) for code, amount in frt["charges"]]
    billed = billed_lines(charges)
    weight = None if frt.get("weight") is None else Decimal(frt["weight"])
    base, how = linehaul(table, frt.get("origin") or {}, frt.get("dest") or {}, weight)
    out: list[LineAudit] = []
    for line in sorted(billed):
        amount, count = billed[line]
        expected: Decimal | None
        if line == LINEHAUL:
            expected, basis = base, how
        elif line == FUEL:
            day = date.fromisoformat(frt["date"])
            row = fuel_row(table, day)
            if base is None:
                expected, basis = None, f"no linehaul to apply the fuel surcharge to ({how})"
            elif row is None:
                expected, basis = None, f"no fuel surcharge in force on {day}"
            else:
                expected = round_cent(base * Decimal(row["fuel_percent"]) / 100)
                basis = f"{row['fuel_percent']}% of linehaul {base} (from {row['valid_from']})"
        else:
            price = table.get(f"accessorial:{line}")
            if price is None:
                out.append(LineAudit(line, UNKNOWN_ACCESSORIAL, amount, None, "not in the table"))
                continue
            expected, basis = accessorial(price, count, weight, base, how)
        if expected is None:
            verdict = MISSING_RATE
        else:
            verdict = OVERBILLED if amount - expected > tolerance else OK
        out.append(LineAudit(line, verdict, amount, expected, basis))
    return out
