"""Child processes whose wall time and peak RSS are measured (``os.wait4`` rusage, which
includes the processes they started and waited for; RSS summed over the live tree)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from streams.errors import ReconError


class BenchError(ReconError):
    """A benchmark stage could not run (as opposed to a missed target)."""


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # user + system
    output: str  # stdout (the child's JSON result, when it prints one)
    log: str  # stderr

    @property
    def errors(self) -> str:
        """The tail of stderr: what to show when the child failed."""
        return self.log[-2000:]

    def json(self) -> dict[str, Any]:
        lines = [line for line in self.output.splitlines() if line.startswith("{")]
        if not lines:
            raise BenchError(f"child printed no result (exit {self.returncode}): {self.errors}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result


class Child:
    """A started child process; :meth:`wait` reaps it with its resource usage."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - closed in wait()
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, stdout=self._out, stderr=self._err)

    def terminate(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> ChildRun:
        deadline = time.monotonic() + timeout
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, tree_high_water_kb(self.proc.pid))
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                pid, status, usage = os.wait4(self.proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - self.started
        code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = code  # reaped here: Popen must not wait on it again
        self._out.seek(0)
        self._err.seek(0)
        out = self._out.read().decode("utf-8", "replace")
        err = self._err.read().decode("utf-8", "replace")
        self._out.close()
        self._err.close()
        if not peak_kb:  # no /proc: ru_maxrss (on Linux it may include the parent at fork)
            peak_kb = usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)
        rss = peak_kb / 1024
        return ChildRun(code, seconds, rss, usage.ru_utime + usage.ru_stime, out, err)


def high_water_kb(pid: int) -> int:
    """VmHWM of a live process (peak RSS of its current image, so not of the parent it
    was forked from, unlike ``ru_maxrss``); 0 when unavailable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (the worker's relay process, say)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(child) for child in f.read().split()]
    except (OSError, ValueError):
        return []


def tree_high_water_kb(pid: int) -> int:
    """VmHWM of a process plus that of its descendants: peaks reached at different times
    and pages shared since a fork counted in each, so never below the real peak."""
    return high_water_kb(pid) + sum(tree_high_water_kb(child) for child in children(pid))


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process and its live descendants (the worker's relay),
    plus the children they already reaped."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # after the command: state is field 3, utime 14, stime 15, cutime 16, cstime 17
    ticks = sum(int(v) for v in fields[11:15])
    own = ticks / os.sysconf("SC_CLK_TCK")
    return own + sum(tree_cpu_seconds(child) for child in children(pid))


def run_child(argv: list[str], env: dict[str, str] | None, timeout: float) -> ChildRun:
    run = Child(argv, env).wait(timeout)
    if run.returncode != 0:
        raise BenchError(f"{' '.join(argv[-3:])} exited with {run.returncode}: {run.errors}")
    return run


def per_second(count: int, seconds: float) -> float:
    """A rate that is 0 for a stage that did not run (no time measured)."""
    return count / seconds if seconds > 0 else 0.0
