"""X12 parsing throughput and peak memory: ``bench_parse(path)``.

Run as ``python -m streams.tools.x12.bench FILE [--generate-mb N]`` to (generate and)
measure a file. Memory is reported as the process's peak RSS (``getrusage``), before and
after, so the growth due to parsing shows even when the process was already big.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from streams.formats.x12.envelope import X12Reader
from streams.formats.x12.extract import extract
from streams.formats.x12.sets import TransactionSet
from streams.formats.x12.tokenizer import X12Error


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def bench_parse(path: Path, *, documents: bool = True) -> dict[str, float | int]:
    """Parse ``path`` once (tokenize, envelopes, and documents unless ``documents=False``).

    Returns counts, wall/CPU seconds, segments/s and MB/s (10^6 bytes) for the whole parse
    and for the reader alone (tokenizer + envelopes, what ingest needs), and peak RSS.
    """
    rss_before = peak_rss_mb()
    extract_seconds = 0.0
    faults = 0
    wall, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as f:
        reader = X12Reader(f)
        for item in reader:
            if documents and isinstance(item, TransactionSet):
                started = time.perf_counter()
                try:
                    extract(item)
                except X12Error:
                    faults += 1
                extract_seconds += time.perf_counter() - started
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    size = reader.bytes_read
    reader_seconds = max(seconds - extract_seconds, 1e-9)
    seconds = max(seconds, 1e-9)
    return {
        "bytes": size,
        "segments": reader.segments,
        "interchanges": reader.interchanges,
        "transaction_sets": reader.transaction_sets,
        "faults": reader.faults + faults,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "segments_per_s": round(reader.segments / seconds),
        "mb_per_s": round(size / seconds / 1e6, 2),
        "reader_segments_per_s": round(reader.segments / reader_seconds),
        "reader_mb_per_s": round(size / reader_seconds / 1e6, 2),
        "peak_rss_mb_before": round(rss_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_growth_mb": round(peak_rss_mb() - rss_before, 1),
    }


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a command-line tool
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file", type=Path)
    parser.add_argument("--generate-mb", type=int, help="first write a generated file this big")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-documents", action="store_true", help="tokenize + envelopes only")
    args = parser.parse_args(argv)
    if args.generate_mb:
        from streams.tools.x12.generate import write_x12

        started = time.perf_counter()
        made = write_x12(args.file, args.generate_mb * 1_000_000, args.seed)
        print(f"generated {made.bytes} bytes, {made.transaction_sets} sets in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
    print(json.dumps(bench_parse(args.file, documents=not args.no_documents), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
