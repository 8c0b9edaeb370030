"""Synthetic rebate feeds for soak, crash and benchmark runs (deterministic per seed).

The mix is realistic on purpose: duplicated lines (the same business identity again),
returns (negative quantities), sales outside every agreement window, several tiers and
both methods and bases, agreements amended later, and a sprinkle of bad lines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
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
