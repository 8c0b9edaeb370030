"""A measured process's peak RSS includes the processes it started (the worker's relay)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streams.tools.bench.procs import children, high_water_kb, tree_high_water_kb

pytestmark = pytest.mark.unit


def test_the_tree_peak_adds_the_children_peaks() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in children(os.getpid())
        own, theirs = high_water_kb(os.getpid()), high_water_kb(child.pid)
        assert own > 0 and theirs > 0
        assert tree_high_water_kb(os.getpid()) >= own + theirs
    finally:
        child.kill()
        child.wait()
