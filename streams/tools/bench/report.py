"""Benchmark figures, target verdicts and the printed report (pure: no Kafka here)."""

from __future__ import annotations

from dataclasses import dataclass, field

TARGET_RATE = 50_000.0  # end-to-end POS lines/s per worker process
TARGET_CPU_US_PER_LINE = 20.0  # worker CPU per POS line, relay process included
TARGET_OVERHEAD = 1.3  # worker CPU per line / the bare computation's
TARGET_VS_QUIX = 3.0  # per CPU-second, ours with the product's ingest
TARGET_VS_QUIX_PER_RECORD = 1.0  # per CPU-second, both reading one line per message
TARGET_P99_S = 0.5
TARGET_SCALING = 0.9  # 2 workers / 1 worker, per CPU-second
TARGET_ENTRIES_PER_1000 = 10.0  # ledger entries per 1,000 POS lines (postings per flush)
TARGET_PRODUCER_RSS_MB = 300.0
TARGET_WORKER_RSS_MB = 600.0
TARGET_RESTORE_S = 120.0  # 10M keys from the changelog


@dataclass(frozen=True)
class Target:
    """A benchmark target: ``measured`` against ``threshold`` (None = not measured).
    ``inclusive``: the threshold itself meets it (>= for higher, <= for lower is better;
    a lower-is-better target is otherwise strict: <)."""

    name: str
    measured: float | None
    threshold: float
    unit: str
    higher_is_better: bool = True
    note: str = ""
    inclusive: bool = False

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        if self.higher_is_better:
            return self.measured >= self.threshold
        if self.inclusive:
            return self.measured <= self.threshold
        return self.measured < self.threshold

    @property
    def shortfall(self) -> float | None:
        """How many times short of the target (1.0 = on it); None when met or unmeasured."""
        if self.met is not False or self.measured is None:
            return None
        if self.higher_is_better:
            return float("inf") if self.measured <= 0 else self.threshold / self.measured
        return float("inf") if self.threshold <= 0 else self.measured / self.threshold

    def verdict(self) -> str:
        sign = ">=" if self.higher_is_better else "<=" if self.inclusive else "<"
        goal = f"{sign} {fmt(self.threshold)} {self.unit}"
        tail = f" [{self.note}]" if self.note else ""
        if self.measured is None:
            return f"NOT MEASURED target {self.name} ({goal}){tail}"
        got = f"{fmt(self.measured)} {self.unit}"
        if self.met:
            return f"met target {self.name} ({goal}): measured {got}{tail}"
        short = self.shortfall
        times = (
            "inf" if short is None or short == float("inf")
            else f"{short:.2f}" if short < 10 else f"{short:.1f}"
        )  # fmt: skip
        return f"MISSED target {self.name} ({goal}): measured {got} ({times}x short){tail}"


def fmt(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or theirs <= 0:
        return None
    return ours / theirs


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return ordered[int(min(rank, len(ordered))) - 1]


@dataclass
class Report:
    """Lines of figures by section, then the target verdicts and the totals checks."""

    title: str
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # name, ok, detail

    def add(self, section: str, label: str, value: str) -> None:
        self.sections.setdefault(section, []).append((label, value))

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))

    @property
    def failed(self) -> bool:
        """A run with a wrong ledger total is a failure, however fast it was."""
        return any(not ok for _, ok, _ in self.checks)

    def render(self) -> str:
        out = [f"== {self.title} =="]
        for section, rows in self.sections.items():
            out.append(f"-- {section}")
            width = max(len(label) for label, _ in rows)
            out.extend(f"  {label.ljust(width)}  {value}" for label, value in rows)
        if self.checks:
            out.append("-- totals checks (a fast run with wrong totals is a failure)")
            for name, ok, detail in self.checks:
                out.append(f"  {'OK  ' if ok else 'FAIL'} {name}: {detail}")
        if self.targets:
            out.append("-- targets")
            out.extend(f"  {t.verdict()}" for t in self.targets)
        verdict = "FAILED (a totals check failed)" if self.failed else "totals correct"
        out.append(f"== result: {verdict} ==")
        return "\n".join(out)


def rate(count: int, seconds: float | None) -> float | None:
    if seconds is None or seconds <= 0:
        return None
    return count / seconds


def show_rate(value: float | None, unit: str = "lines/s") -> str:
    return "n/a" if value is None else f"{fmt(value)} {unit}"


def show_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}x"


def show_us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} us"


@dataclass(frozen=True)
class Figures:
    """What the ratios and the throughput targets are computed from; None: not measured.
    CPU figures are per POS line of the end-to-end feed, start-up included."""

    ours_rate: float | None = None  # 1 worker, lines/s end to end
    ours_cpu_rate: float | None = None  # lines per worker CPU-second (relay included)
    ours_us: float | None = None  # worker CPU per line, µs
    ours_us_steady: float | None = None  # the same, an idle worker run's CPU subtracted
    bare_us: float | None = None  # the bare computation's CPU per line, µs
    quix_rate: float | None = None
    quix_cpu_rate: float | None = None
    quix_us: float | None = None
    raw_rate: float | None = None  # the raw pass-through, lines/s
    raw_cpu_rate: float | None = None
    two_rate: float | None = None  # 2 workers
    two_cpu_rate: float | None = None
    # 1 worker and the bare computation on one message per line (quixstreams' input)
    records_cpu_rate: float | None = None
    records_us: float | None = None
    bare_records_us: float | None = None


SECTION_RATIOS = "ratios"
INGEST_NOTE = "ours with the product's chunked ingest, quixstreams one line per message"


def add_comparisons(report: Report, f: Figures) -> None:
    """The ratios section, and the throughput and overhead targets, from ``f``."""
    overhead = ratio(f.ours_us, f.bare_us)
    vs_quix = ratio(f.ours_cpu_rate, f.quix_cpu_rate)
    vs_quix_records = ratio(f.records_cpu_rate, f.quix_cpu_rate)
    scaling = ratio(f.two_cpu_rate, f.ours_cpu_rate)
    rows = [
        ("worker overhead factor: worker CPU per line / bare CPU per line",
         f"{show_ratio(overhead)} ({show_us(f.ours_us)} / {show_us(f.bare_us)})"),
        ("worker overhead factor, start-up and shutdown excluded (not the target's figure)",
         f"{show_ratio(ratio(f.ours_us_steady, f.bare_us))} "
         f"({show_us(f.ours_us_steady)} / {show_us(f.bare_us)})"),
        ("worker overhead factor, one line per message",
         f"{show_ratio(ratio(f.records_us, f.bare_records_us))} "
         f"({show_us(f.records_us)} / {show_us(f.bare_records_us)})"),
        ("quixstreams overhead factor: its CPU per line / bare CPU per line, one per message",
         f"{show_ratio(ratio(f.quix_us, f.bare_records_us))} "
         f"({show_us(f.quix_us)} / {show_us(f.bare_records_us)})"),
        (f"per CPU-second: ours / quixstreams ({INGEST_NOTE})", show_ratio(vs_quix)),
        ("per CPU-second: ours / quixstreams, both reading per-record messages",
         show_ratio(vs_quix_records)),
        ("wall clock, end to end: ours / quixstreams",
         show_ratio(ratio(f.ours_rate, f.quix_rate))),
        ("I/O floor, not a target: ours / raw pass-through",
         show_ratio(ratio(f.ours_rate, f.raw_rate))),
        ("I/O floor, not a target, per CPU-second: ours / raw pass-through",
         show_ratio(ratio(f.ours_cpu_rate, f.raw_cpu_rate))),
    ]  # fmt: skip
    if f.ours_rate is not None and f.two_rate is not None:
        rows += [
            ("scaling: 2 workers / 1 worker (6 partitions)",
             show_ratio(ratio(f.two_rate, f.ours_rate))),
            ("scaling per CPU-second: 2 workers / 1 worker", show_ratio(scaling)),
        ]  # fmt: skip
    for label, value in rows:
        report.add(SECTION_RATIOS, label, value)
    report.targets += [
        Target("end-to-end throughput per worker", f.ours_rate, TARGET_RATE, "lines/s"),
        Target("worker CPU per POS line", f.ours_us, TARGET_CPU_US_PER_LINE, "us",
               higher_is_better=False, inclusive=True,
               note="relay process and start-up included"),
        Target("worker overhead over the bare computation", overhead, TARGET_OVERHEAD, "x",
               higher_is_better=False, inclusive=True,
               note="worker CPU per line / bare CPU per line"),
        Target("per CPU-second vs quixstreams", vs_quix, TARGET_VS_QUIX, "x",
               note=INGEST_NOTE),
        Target("per CPU-second vs quixstreams, both reading per-record messages",
               vs_quix_records, TARGET_VS_QUIX_PER_RECORD, "x"),
        Target("scaling per CPU-second, 2 workers / 1", scaling, TARGET_SCALING, "x"),
    ]  # fmt: skip
