"""Benchmark figures, target verdicts and the printed report (pure: no Kafka here)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Target:
    """A target of issue 7: ``measured`` against ``threshold`` (None = not measured)."""

    name: str
    measured: float | None
    threshold: float
    unit: str
    higher_is_better: bool = True
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        if self.higher_is_better:
            return self.measured >= self.threshold
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
        goal = f"{'>=' if self.higher_is_better else '<'} {fmt(self.threshold)} {self.unit}"
        tail = f" [{self.note}]" if self.note else ""
        if self.measured is None:
            return f"NOT MEASURED target {self.name} ({goal}){tail}"
        got = f"{fmt(self.measured)} {self.unit}"
        if self.met:
            return f"met target {self.name} ({goal}): measured {got}{tail}"
        short = self.shortfall
        times = "inf" if short is None or short == float("inf") else f"{short:.1f}"
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
