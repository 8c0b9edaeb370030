"""The claims stage of `recon bench`: one large claim reconciled by the real worker on the
real broker, beside the bare in-process computation of the same checks in the same run.

Setup (not timed): M sales of one vendor over a quarter (with returns) and one agreement
are written as CSV files, ingested with `recon ingest` and processed by a running
`recon worker` until its group and its relay have committed everything. Then, timed: a
claim of N lines over distinct sales (a header and N `line` rows, CSV) is ingested with
`recon ingest claims`, from the start of that ingest until the claim's final result
(every line received, decided) is on `recon.claims.results` and the group has committed
every claim row. The worker's CPU is the delta of its process tree's CPU time (the worker
and its relay process, from /proc) over that window, so its start-up and the sales are not
in it. The bare computation (``claims.bare_check``) runs the same line checks over plain
dicts built from the same sales and lines, timed with ``time.process_time``; the worker's
result must equal it: status, lines received, failing lines per kind.

The claim's failing lines are few (0.1 % unknown sales, 0.1 % over their sale's quantity;
no line on a return): one evaluation's exception events travel in one changelog record of
the version document (docs/claims.md, "Limits"), which a 500,000-line claim with percents
of failing lines would overflow.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from streams.domain.claims.models import ClaimLine
from streams.domain.claims.rules import ClaimStatus, Tolerances, header_status
from streams.domain.models.pos import SaleFacts
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.tools.batch import worker_command
from streams.tools.bench import claims as inproc
from streams.tools.bench import report as r
from streams.tools.bench.latency import wait_caught_up
from streams.tools.bench.ours import bench_worker_env, ingest
from streams.tools.bench.procs import BenchError, Child, tree_cpu_seconds

CLAIM, VERSION = "CLM-1", 1
RATE = Decimal("0.10")  # the agreement's one per-unit tier
PROMOTIONS = (
    "agreement_id,vendor_id,skus,start_date,end_date,basis,period,tier_method,tiers,currency\n"
    f"{inproc.AGREEMENT},{inproc.VENDOR},*,2026-01-01,2026-03-31,per_unit,quarter,"
    f"retroactive,0:{RATE},USD\n"
)
POS_HEADER = "txn_id,line_no,store_id,sku,vendor_id,qty,unit_price,currency,sold_at\n"
CLAIMS_HEADER = (
    "record,claim_id,version,vendor_id,agreement_id,period,claimed_amount,currency,"
    "line_count,txn_id,line_no,sold_on,sku,qty,amount\n"
)


@dataclass(frozen=True)
class Verdict:
    """A claim version's decision: what the worker's result and the bare run must share."""

    status: str
    received: int
    failing: dict[str, int]
    accrued: Decimal


@dataclass
class ClaimsRun:
    lines: int
    sales: int
    seconds: float = 0.0  # claim ingest start -> final result on the topic, group committed
    worker_cpu_seconds: float = 0.0  # worker + relay process CPU over that window
    bare_cpu_seconds: float = 0.0
    bare_seconds: float = 0.0
    setup_seconds: float = 0.0
    worker: Verdict | None = None
    bare: Verdict | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0

    @property
    def worker_us(self) -> float:
        return self.worker_cpu_seconds / self.lines * 1e6 if self.lines else 0.0

    @property
    def bare_us(self) -> float:
        return self.bare_cpu_seconds / self.lines * 1e6 if self.lines else 0.0


def write_files(
    work: Path, sales: list[SaleFacts], lines: list[ClaimLine], claimed: Decimal
) -> tuple[Path, Path, Path]:
    work.mkdir(parents=True, exist_ok=True)
    pos, promotions, claims = work / "pos.csv", work / "promotions.csv", work / "claims.csv"
    with pos.open("w", encoding="utf-8") as f:
        f.write(POS_HEADER)
        for s in sales:
            f.write(f"{s.txn_id},{s.line_no},S1,{s.sku},{s.vendor_id},{s.qty},1.50,USD,"
                    f"{s.day.isoformat()}T12:00:00Z\n")  # fmt: skip
    promotions.write_text(PROMOTIONS, encoding="utf-8")
    with claims.open("w", encoding="utf-8") as f:
        f.write(CLAIMS_HEADER)
        f.write(f"header,{CLAIM},{VERSION},{inproc.VENDOR},{inproc.AGREEMENT},{inproc.PERIOD},"
                f"{claimed},USD,{len(lines)},,,,,,\n")  # fmt: skip
        for ln in lines:
            f.write(f"line,{CLAIM},{VERSION},{ln.vendor_id},,,,,,{ln.txn_id},{ln.line_no},"
                    f"{ln.sold_on.isoformat()},{ln.sku},{ln.qty},{ln.amount}\n")  # fmt: skip
    return pos, promotions, claims


def accrued_of(sales: list[SaleFacts]) -> Decimal:
    """The agreement's accrual for the quarter: one retroactive per-unit tier over the net
    units (every sale is in the quarter and covered)."""
    return max(sum(s.qty for s in sales), 0) * RATE


def bare_verdict(
    sales: list[SaleFacts], lines: list[ClaimLine], claimed: Decimal
) -> tuple[Verdict, float, float]:
    """The same checks in process over plain dicts (``claims.bare_check``); its CPU and
    wall seconds."""
    agr = inproc.agreement()
    wall, cpu = time.perf_counter(), time.process_time()
    kinds = inproc.bare_check(sales, agr, lines)
    accrued = accrued_of(sales)
    failing = Counter(k for k in kinds.values() if k)
    status = header_status(
        has_header=True,
        superseded=False,
        line_count=len(lines),
        received=len(kinds),
        within=Tolerances().within(claimed, accrued),
        failing_lines=sum(failing.values()),
    )
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Verdict(status.value, len(kinds), dict(failing), accrued), cpu, wall


def final_result(settings: Settings, line_count: int) -> tuple[Verdict, int] | None:
    """The claim's latest result on the results topic and its broker timestamp (ms), once
    it has every line and is decided; None before."""
    best: tuple[int, dict[str, object], int] | None = None
    for m in read_topic(settings, settings.topic(t.CLAIM_RESULTS)):
        doc = json.loads(m.value() or b"{}")
        if doc.get("type") != "result" or doc.get("claim_id") != CLAIM:
            continue
        seq = int(doc["seq"])
        if best is None or seq >= best[0]:
            best = (seq, doc, m.timestamp()[1])
    if best is None:
        return None
    _, doc, at = best
    decided = doc["status"] in (ClaimStatus.MATCHED.value, ClaimStatus.DISPUTED.value)
    if not decided or int(str(doc["received"])) < line_count:
        return None
    failing = {str(k): int(v) for k, v in dict(doc["failing"]).items()}  # type: ignore[call-overload]
    verdict = Verdict(str(doc["status"]), int(str(doc["received"])), failing,
                      Decimal(str(doc["accrued"])))  # fmt: skip
    return verdict, at


def wait_result(settings: Settings, line_count: int, timeout: float) -> tuple[Verdict, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = final_result(settings, line_count)
        if found is not None:
            return found
        time.sleep(0.5)
    raise BenchError(f"claims stage: no final result of {CLAIM} in {timeout:.0f} s")


def run(settings: Settings, lines: int, sales: int, timeout: float) -> ClaimsRun:
    """The stage on ``settings``' broker, in topics and state of its own."""
    out = ClaimsRun(lines, sales)
    t0 = time.perf_counter()
    rng = random.Random(17)
    facts = inproc.make_sales(sales, max(1, min(2_000, sales // 50)), rng)
    claim = inproc.make_claim(facts, lines, rng, unknown=0.001, over=0.002, returns=False)
    accrued = accrued_of(facts)
    pos, promotions, claims = write_files(settings.home / "data", facts, claim, accrued)
    out.bare, out.bare_cpu_seconds, out.bare_seconds = bare_verdict(facts, claim, accrued)
    del facts, claim
    create_topics(settings)
    raw = [settings.topic(t.RAW_POS), settings.topic(t.RAW_PROMOTIONS)]
    relay = ([t.changelog_topic(settings, t.STATE_TABLE)], t.relay_group(settings))
    worker = Child(worker_command(), bench_worker_env(settings.with_overrides(
        home=settings.home / "worker")))  # fmt: skip
    try:
        ingest(settings, "pos", str(pos), timeout)
        ingest(settings, "promotions", str(promotions), timeout)
        wait_caught_up(settings, raw, settings.app_id, timeout)
        wait_caught_up(settings, *relay, timeout)
        out.setup_seconds = time.perf_counter() - t0
        cpu, started = tree_cpu_seconds(worker.proc.pid), time.time()
        ingest(settings, "claims", str(claims), timeout)
        verdict, at_ms = wait_result(settings, lines, timeout)
        wait_caught_up(settings, [settings.topic(t.RAW_CLAIMS)], settings.app_id, timeout)
        out.worker_cpu_seconds = tree_cpu_seconds(worker.proc.pid) - cpu
        out.seconds = max(at_ms / 1000, time.time()) - started
        out.worker = verdict
    finally:
        worker.terminate()
        ended = worker.wait(60)
    if ended.returncode not in (0, -15):
        out.problems.append(f"worker exited {ended.returncode}: {ended.errors}")
    if out.worker != out.bare:
        out.problems.append(f"worker {out.worker} != bare computation {out.bare}")
    return out


def add_stage(report: r.Report, run: ClaimsRun) -> None:
    """The stage's figures and its check in a `recon bench` report."""
    section = f"claims: a {run.lines:,}-line claim against {run.sales:,} sales"
    report.add(
        section,
        "ours, the worker (claim ingest -> final result on recon.claims.results)",
        f"{r.show_rate(run.rate)} ({run.seconds:.1f} s), worker CPU "
        f"{r.show_us(run.worker_us)} per line ({run.worker_cpu_seconds:.1f} s, relay included)",
    )
    report.add(
        section,
        "bare computation of the same checks, in process",
        f"{r.show_rate(run.lines / run.bare_seconds if run.bare_seconds else None)}, "
        f"{r.show_us(run.bare_us)} CPU per line",
    )
    report.add(section, "worker CPU per line / bare CPU per line",
               r.show_ratio(run.worker_us / run.bare_us if run.bare_us else None))  # fmt: skip
    report.add(section, "setup (sales and agreement through the worker, not timed)",
               f"{run.setup_seconds:.1f} s")  # fmt: skip
    v = run.worker
    detail = (
        f"status {v.status}, {v.received:,} lines received, failing {v.failing}"
        if v is not None
        else "no result"
    )
    if run.problems:
        detail += f"; {run.problems[0]}"
    report.check("claims: the worker's result equals the bare computation", not run.problems,
                 detail)  # fmt: skip
