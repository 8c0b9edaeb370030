"""Synthetic rebate feeds for soak, crash and benchmark runs (deterministic per seed).

The mix is realistic on purpose: duplicated lines (the same business identity again),
returns (negative quantities), sales outside every agreement window, several tiers and
both methods and bases, agreements amended later, and a sprinkle of bad lines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

POS_HEADER = "txn_id,line_no,store_id,sku,vendor_id,qty,unit_price,currency,sold_at\n"
PROMO_HEADER = (
    "agreement_id,vendor_id,skus,start_date,end_date,basis,period,tier_method,tiers,currency\n"
)
BAD_LINES = (
    "BAD{n},1,S1,SKU-0,V0001,three,1.00,USD,2026-01-05T10:00:00Z\n",
    "BAD{n},1,S1,SKU-0,V0001,1,-1.00,USD,2026-01-05T10:00:00Z\n",
    "BAD{n},1,S1,SKU-0,V0001,1,1.00,USD\n",
)


@dataclass(frozen=True)
class FeedSpec:
    lines: int = 100_000
    vendors: int = 40
    skus_per_vendor: int = 25
    duplicate_rate: float = 0.02
    return_rate: float = 0.05
    bad_rate: float = 0.001
    seed: int = 7


def write_promotions(path: Path, spec: FeedSpec) -> int:
    """Two agreements per vendor plus an amendment for every fifth vendor."""
    rng = random.Random(spec.seed)
    rows = 0
    with path.open("w", encoding="utf-8") as f:
        f.write(PROMO_HEADER)
        for v in range(spec.vendors):
            vendor = f"V{v:04d}"
            skus = "|".join(f"SKU-{v}-{s}" for s in range(0, spec.skus_per_vendor, 3))
            base = rng.choice((50, 100, 200))
            f.write(
                f"AG-{vendor}-U,{vendor},{skus},2026-01-01,2026-06-30,per_unit,month,"
                f"{rng.choice(('retroactive', 'incremental'))},"
                f"0:0.05|{base}:0.08|{base * 3}:0.12,USD\n"
            )
            f.write(
                f"AG-{vendor}-P,{vendor},*,2026-02-01,2026-12-31,percent,quarter,"
                f"{rng.choice(('retroactive', 'incremental'))},0:0.01|{base * 40}:0.025,USD\n"
            )
            rows += 2
            if v % 5 == 0:  # an amendment with better rates, arriving later in the file
                f.write(
                    f"AG-{vendor}-U,{vendor},{skus},2026-01-01,2026-06-30,per_unit,month,"
                    f"retroactive,0:0.06|{base}:0.09|{base * 3}:0.13,USD\n"
                )
                rows += 1
    return rows


def write_pos(path: Path, spec: FeedSpec) -> int:
    """``spec.lines`` records (duplicates and bad lines included)."""
    rng = random.Random(spec.seed + 1)
    start = date(2025, 12, 1)
    emitted: list[str] = []  # recent lines, the pool duplicates are drawn from
    with path.open("w", encoding="utf-8") as f:
        f.write(POS_HEADER)
        for n in range(spec.lines):
            roll = rng.random()
            if roll < spec.bad_rate:
                line = rng.choice(BAD_LINES).format(n=n)
            elif roll < spec.bad_rate + spec.duplicate_rate and emitted:
                line = rng.choice(emitted)
            else:
                v = rng.randrange(spec.vendors)
                day = start + timedelta(days=rng.randrange(240))
                qty = -rng.randint(1, 3) if rng.random() < spec.return_rate else rng.randint(1, 12)
                line = (
                    f"T{n:09d},1,S{rng.randrange(50)},SKU-{v}-{rng.randrange(spec.skus_per_vendor)},"
                    f"V{v:04d},{qty},{rng.randint(99, 9999) / 100:.2f},USD,"
                    f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z\n"
                )
                emitted.append(line)
                if len(emitted) > 1000:
                    emitted.pop(0)
            f.write(line)
    return spec.lines


CLAIMS_HEADER = (
    "record,claim_id,version,vendor_id,agreement_id,period,claimed_amount,currency,"
    "line_count,txn_id,line_no,sold_on,sku,qty,amount\n"
)


def write_claims(path: Path, pos: Path, promotions: Path, vendors: int = 6) -> int:
    """Vendor claims over a feed written by ``write_pos`` and ``write_promotions``, for the
    first ``vendors`` vendors, against their per-unit agreements for January and February
    2026. Per vendor, in two waves (the file holds the first wave, then the second):

    - ``<vendor>-A`` claims January's accrued total over lines whose units stay within
      the units sold net of returns (matched); version 2, in the second wave, 2 % less
      (matched, and version 1 superseded);
    - ``<vendor>-C`` an unknown sale and a line over its sale's quantity (disputed);
    - ``<vendor>-D`` February at twice its accrual plus 10 (disputed: claim_dispute);
    - ``<vendor>-E`` announces one line more than it sends (incomplete);
    - ``<vendor>-B`` (second wave) claims sales of ``-A`` again (double claimed).

    The claimed amounts are the final accruals, so a claim's status changes while sales,
    late agreements and amendments stream in. One bad row (a period ``2026-13``) ends the
    first wave. Returns the number of rows of the first wave."""
    # Imported here: the feed writers above stand alone, the claims need the reference.
    from streams.domain.models.pos import SaleLine
    from streams.domain.models.promotion import Agreement
    from streams.tools.references import expected_totals, valid_records

    agreements = {a.agreement_id: a for a in valid_records(promotions, Agreement)}
    sales: dict[str, SaleLine] = {}
    for sale in valid_records(pos, SaleLine):
        sales.setdefault(sale.idempotency_key, sale)
    totals = expected_totals([pos], [promotions])

    def header(claim: str, version: int, vendor: str, agr: str, period: str, amount: Decimal,
               count: int) -> str:  # fmt: skip
        return f"header,{claim},{version},{vendor},{agr},{period},{amount},USD,{count},,,,,,\n"

    def line(claim: str, version: int, s: SaleLine, qty: int, txn: str = "") -> str:
        return (
            f"line,{claim},{version},{s.vendor_id},,,,,,{txn or s.txn_id},{s.line_no},"
            f"{s.day.isoformat()},{s.sku},{qty},{Decimal(qty) * Decimal('0.05'):.2f}\n"
        )

    first: list[str] = []
    later: list[str] = []
    for v in range(vendors):
        vendor = f"V{v:04d}"
        agr = agreements[f"AG-{vendor}-U"]
        month, next_month = "2026-01", "2026-02"

        def covered(label: str, agr: Agreement = agr, vendor: str = vendor) -> list[SaleLine]:
            return sorted(
                (
                    s
                    for s in sales.values()
                    if s.vendor_id == vendor
                    and agr.covers(s.sku, s.day)
                    and f"{s.day:%Y-%m}" == label
                ),
                key=lambda s: (s.day, s.txn_id, s.line_no),
            )

        def accrued(label: str, agr: Agreement = agr) -> Decimal:
            return totals.get((agr.agreement_id, label, "USD"), Decimal(0))

        in_month = covered(month)
        net: dict[str, int] = {}
        for s in in_month:
            net[s.sku] = net.get(s.sku, 0) + s.qty
        used: dict[str, int] = {}
        good = []
        for s in in_month[:-1]:  # the last one is left for the over-quantity claim
            if s.qty > 0 and used.get(s.sku, 0) + s.qty <= net[s.sku]:
                used[s.sku] = used.get(s.sku, 0) + s.qty
                good.append(s)
        good = good[:12]
        total = accrued(month)
        a, b, c, d, e = (f"{vendor}-{x}" for x in "ABCDE")
        first.append(header(a, 1, vendor, agr.agreement_id, month, total, len(good)))
        first += [line(a, 1, s, s.qty) for s in good]
        # a sale no other claim names: one line on an unknown transaction, one over its qty
        extra = in_month[-1]
        first.append(header(c, 1, vendor, agr.agreement_id, month, Decimal("1.00"), 2))
        first += [line(c, 1, extra, 1, txn="TX-NONE"), line(c, 1, extra, abs(extra.qty) + 1)]
        following = [s for s in covered(next_month) if s.qty > 0][:3]
        disputed = accrued(next_month) * 2 + 10
        first.append(header(d, 1, vendor, agr.agreement_id, next_month, disputed, len(following)))
        first += [line(d, 1, s, s.qty) for s in following]
        first.append(header(e, 1, vendor, agr.agreement_id, next_month, Decimal("5.00"), 2))
        first += [line(e, 1, following[-1], following[-1].qty)]
        amended = (total * Decimal("0.98")).quantize(Decimal("0.01"))
        later.append(header(a, 2, vendor, agr.agreement_id, month, amended, len(good)))
        later += [line(a, 2, s, s.qty) for s in good]
        later.append(header(b, 1, vendor, agr.agreement_id, month, Decimal("2.00"), 2))
        later += [line(b, 1, s, s.qty) for s in good[:2]]
    first.append(header("BAD-1", 1, "V0000", "AG-V0000-U", "2026-13", Decimal("1.00"), 0))
    with path.open("w", encoding="utf-8") as f:
        f.write(CLAIMS_HEADER)
        f.writelines(first + later)
    return len(first)
