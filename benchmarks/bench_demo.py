"""Benchmark: generate the demo workspace at 100,000 subjects; report wall time and peak RSS.

Run: ``.venv/bin/python benchmarks/bench_demo.py [--subjects N] [--out DIR]``. Peak RSS must stay
under 1 GB whatever N, since subjects are streamed. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

LIMIT_BYTES = 1024**3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None, help="default: a temporary folder, removed afterwards")
    args = parser.parse_args(argv)

    from datamap.demo import generate, planted_counts

    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        out = args.out or Path(tmp) / "demo"
        start, cpu_start = time.perf_counter(), time.process_time()
        generate(out, subjects=args.subjects, seed=args.seed)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        planted = sum(planted_counts(out).values())
    print(f"subjects       {args.subjects:,}")
    print(f"wall time      {seconds:.1f} s ({args.subjects / seconds:,.0f} subjects/s)")
    print(f"CPU time       {cpu:.1f} s (wall time grows when other jobs share the cores)")
    print(f"peak RSS       {peak / 1024**2:.0f} MiB (limit {LIMIT_BYTES / 1024**2:.0f} MiB)")
    print(f"written        {size / 1024**2:.0f} MiB, {planted} planted cases")
    return 0 if peak < LIMIT_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
