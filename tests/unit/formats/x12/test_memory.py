"""Parsing memory stays flat as the file grows (constant memory in the file size).

Peak RSS is measured in a fresh interpreter per file, so the baseline is the same for both
sizes and nothing pytest allocated counts; tracemalloc (which follows every allocation and
slows parsing about 17x) is used on smaller files, with a small chunk size so that the
files are many chunks long.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from streams.formats.x12 import X12Reader, parse_sets
from streams.tools.x12.generate import write_x12

pytestmark = pytest.mark.unit

MB = 1_000_000


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """~0.5, ~5 and ~50 MB files; the big one repeats the 5 MB one (valid, faster to make)."""
    root = tmp_path_factory.mktemp("x12mem")
    small, medium, big = root / "small.edi", root / "medium.edi", root / "big.edi"
    write_x12(small, MB // 2, seed=5)
    write_x12(medium, 5 * MB, seed=5)
    with big.open("wb") as out:
        for _ in range(10):
            with medium.open("rb") as part:
                shutil.copyfileobj(part, out)
    return {"small": small, "medium": medium, "big": big}


def child_peak_rss(path: Path, documents: bool) -> dict[str, float]:
    code = (
        "import json, sys; from pathlib import Path;"
        "from streams.tools.x12.bench import bench_parse;"
        f"print(json.dumps(bench_parse(Path(sys.argv[1]), documents={documents})))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(run.stdout)
    return result


def test_peak_rss_does_not_grow_with_the_file(generated: dict[str, Path]) -> None:
    medium = child_peak_rss(generated["medium"], documents=True)
    big = child_peak_rss(generated["big"], documents=False)
    assert big["bytes"] >= 10 * medium["bytes"] - 1 and big["faults"] == 0
    # 10x the bytes and no more memory: keeping 10% of the file (5 MB) would show
    assert big["peak_rss_mb"] - medium["peak_rss_mb"] < 4, (medium, big)
    assert big["peak_rss_growth_mb"] < 8, big


def traced_peak(path: Path, chunk_size: int) -> int:
    tracemalloc.start()
    try:
        with path.open("rb") as f:
            for _ in parse_sets(X12Reader(f, chunk_size=chunk_size)):
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_traced_peak_is_flat_with_documents(generated: dict[str, Path], tmp_path: Path) -> None:
    tenth = tmp_path / "tenth.edi"
    write_x12(tenth, MB // 20, seed=5)
    small_peak = traced_peak(tenth, chunk_size=16_384)
    big_peak = traced_peak(generated["small"], chunk_size=16_384)  # ~10x the bytes
    assert big_peak < small_peak * 1.3 + 100_000, (small_peak, big_peak)
