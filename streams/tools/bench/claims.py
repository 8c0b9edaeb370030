"""Claims benchmark: one large claim checked against many sales, in process.

``python -m streams.tools.bench.claims [--sales N] [--lines M] [--chunk C]`` builds N sales
of one vendor over a quarter (with returns) and applies them with the rebate engine, then
a claim of M lines over distinct sales (with over-quantity, unknown and uncovered lines),
and measures, in the same run:

- **engine**: the claims engine on the rebate engine's state (lines applied C at a time,
  then one evaluation): what the worker's claims agent would do per partition, without
  Kafka;
- **bare**: the same checks over plain dicts built from the same sales, no state, no
  encoding, no indexes: the floor of the computation.

Both must agree on every line's kind and the status; it prints lines/s and CPU µs per line
of each. Not part of ``make test``: run by hand (a 500,000-line claim on 1M sales takes a
few minutes and a few GB of memory).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.postings import RecordRef
from streams.domain.claims import store
from streams.domain.claims.engine import ClaimsEngine
from streams.domain.claims.facts import RebateStateFacts
from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.rules import ClaimExceptionKind as K
from streams.domain.claims.rules import Tolerances
from streams.domain.models.pos import SaleFacts, idempotency_key
from streams.domain.models.promotion import Agreement
from streams.domain.state import DictState

VENDOR, AGREEMENT, PERIOD = "V1", "A1", "2026-Q1"
START = date(2026, 1, 1)


def make_sales(n: int, skus: int, rng: random.Random) -> list[SaleFacts]:
    sales = []
    for i in range(n):
        day = START + timedelta(days=rng.randrange(90))
        qty = rng.randint(1, 12) if rng.random() > 0.03 else -rng.randint(1, 3)  # returns
        sku = f"S{rng.randrange(skus)}"
        txn = f"T{i}"
        sales.append(
            SaleFacts(
                VENDOR,
                sku,
                day,
                qty,
                Decimal(qty) * Decimal("1.50"),
                "USD",
                None,  # type: ignore[arg-type]
                txn,
                1,
                idempotency_key(VENDOR, day, txn, 1),
                day.isoformat(),
            )
        )
    return sales


def make_claim(
    sales: list[SaleFacts],
    lines: int,
    rng: random.Random,
    *,
    unknown: float = 0.005,
    over: float = 0.01,
    returns: bool = True,
) -> list[ClaimLine]:
    """``lines`` lines over distinct sales: a share ``unknown`` names no sale, a share
    ``over`` (the unknown ones among them) claims more than its sale's quantity, and so
    does a line on a return (``returns``)."""
    pool = range(len(sales)) if returns else [i for i, s in enumerate(sales) if s.qty > 0]
    chosen = rng.sample(pool, lines)
    out = []
    for i in chosen:
        s = sales[i]
        roll = rng.random()
        qty = max(1, s.qty) + (2 if roll < over else 0)  # over their own sale
        txn = s.txn_id if roll >= unknown else f"X{i}"  # no such sale
        out.append(
            ClaimLine.model_construct(
                claim_id="CLM-1",
                version=1,
                vendor_id=VENDOR,
                txn_id=txn,
                line_no=1,
                sold_on=s.day,
                sku=s.sku,
                qty=qty,
                amount=Decimal("1.00"),
            )
        )
    return out


def bare_check(sales: list[SaleFacts], agr: Agreement, lines: list[ClaimLine]) -> dict[str, str]:
    """The line checks of docs/domain.md §10.3 over plain dicts (one claim, no rivals)."""
    facts = {s.idempotency_key: s for s in sales}
    net: Counter[str] = Counter()
    for s in sales:
        if agr.start_date <= s.day <= agr.end_date:
            net[s.sku] += s.qty
    kinds: dict[str, str] = {}
    keyed = []
    for line in lines:
        key = idempotency_key(line.vendor_id, line.sold_on, line.txn_id, line.line_no)
        sale = facts.get(key)
        if sale is None or sale.sku != line.sku or sale.day != line.sold_on:
            kinds[key] = K.UNKNOWN_SALE.value
        elif not agr.covers(sale.sku, sale.day):
            kinds[key] = K.NOT_COVERED.value
        elif line.qty > sale.qty:
            kinds[key] = K.OVER_QUANTITY.value
        else:
            kinds[key] = ""
            keyed.append((line.sold_on.isoformat(), line.txn_id, line.line_no, key, line))
    used: Counter[str] = Counter()
    for *_, key, line in sorted(keyed):
        if used[line.sku] + line.qty > net[line.sku]:
            kinds[key] = K.OVER_QUANTITY.value
        else:
            used[line.sku] += line.qty
    return kinds


def agreement() -> Agreement:
    return Agreement.model_validate(
        {
            "agreement_id": AGREEMENT,
            "vendor_id": VENDOR,
            "skus": "*",
            "start_date": "2026-01-01",
            "end_date": "2026-03-31",
            "basis": "per_unit",
            "period": "quarter",
            "tier_method": "retroactive",
            "tiers": "0:0.10",
            "currency": "USD",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="lines per apply call")
    args = parser.parse_args()
    rng = random.Random(17)
    agr = agreement()

    t0 = time.perf_counter()
    sales = make_sales(args.sales, args.skus, rng)
    state = DictState()
    rebates = RebateEngine(state)
    rebates.apply_agreement(agr, RecordRef("agr", 0))
    for at in range(0, len(sales), 500):
        part = sales[at : at + 500]
        rebates.apply_sales(
            [(s, f"r{at + i}", (at + i) << 16) for i, s in enumerate(part)],
            lambda i, at=at: RecordRef(f"r{at + i}", at + i),  # type: ignore[misc]
        )
        rebates.settle()
    lines = make_claim(sales, args.lines, rng)
    print(
        f"setup: {len(sales):,} sales applied, {len(lines):,} claim lines built "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    accrued = Decimal(state.get(f"p:{AGREEMENT}\x1f{PERIOD}")["posted"])  # type: ignore[index]
    header = ClaimHeader(
        claim_id="CLM-1",
        version=1,
        agreement_id=AGREEMENT,
        vendor_id=VENDOR,
        period=PERIOD,
        claimed_amount=accrued,
        currency="USD",
        line_count=len(lines),
    )

    wall, cpu = time.perf_counter(), time.process_time()
    engine = ClaimsEngine(state, RebateStateFacts(state), Tolerances())
    engine.apply_header(header, "h")
    for at in range(0, len(lines), args.chunk):
        engine.apply_lines([(ln, f"l{at + i}") for i, ln in enumerate(lines[at : at + args.chunk])])
    applied_wall, applied_cpu = time.perf_counter() - wall, time.process_time() - cpu
    out = engine.settle()
    e_wall, e_cpu = time.perf_counter() - wall, time.process_time() - cpu
    doc = state.get(store.version_key("CLM-1", 1)) or {}

    wall, cpu = time.perf_counter(), time.process_time()
    kinds = bare_check(sales, agr, lines)
    b_wall, b_cpu = time.perf_counter() - wall, time.process_time() - cpu

    engine_kinds = {
        key: entry["x"]
        for bucket in store.read_buckets(state, "CLM-1", 1, doc).values()
        for key, entry in bucket.items()
    }
    agree = engine_kinds == kinds
    failing = Counter(k for k in kinds.values() if k)
    n = len(lines)
    print(
        f"claim: {n:,} lines, status {doc['status']}, failing {dict(failing)}, "
        f"{len(out.exceptions):,} exception events; engine and bare agree: {agree}"
    )
    print(
        f"engine: {n / e_wall:,.0f} lines/s, {e_cpu / n * 1e6:.1f} µs CPU/line "
        f"(wall: apply {applied_wall:.1f} s, evaluate {e_wall - applied_wall:.1f} s; "
        f"CPU: apply {applied_cpu:.1f} s, evaluate {e_cpu - applied_cpu:.1f} s)"
    )
    print(f"bare:   {n / b_wall:,.0f} lines/s, {b_cpu / n * 1e6:.1f} µs CPU/line")
    digest = hashlib.sha256(repr(sorted(kinds.items())).encode()).hexdigest()[:12]
    print(f"line kinds digest {digest}")
    if not agree:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
