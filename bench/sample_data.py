"""Rows per second of the retail sample generator: ``python bench/sample_data.py --scale 200 --days 14``."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from retail_etl.sample.retail import generate


def count_rows(paths: list[Path]) -> int:
    """Data rows, header excluded; no field holds a newline, so lines are rows."""
    total = 0
    for path in paths:
        with path.open("rb") as handle:
            total += sum(1 for _ in handle) - 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        files = generate(Path(tmp), scale=args.scale, days=args.days, seed=args.seed)
        elapsed = time.perf_counter() - started
        csvs = {kind: paths for kind, paths in files.items() if kind != "planted"}
        rows = {kind: count_rows(paths) for kind, paths in csvs.items()}
        size = sum(p.stat().st_size for paths in csvs.values() for p in paths)
    total = sum(rows.values())
    cores = os.cpu_count() or 1
    print(f"scale {args.scale}, {args.days} days: {elapsed:.2f} s, {size / 1e6:.0f} MB")
    for kind, n in rows.items():
        print(f"  {kind:<10} {n:>12,} rows")
    print(f"  total      {total:>12,} rows: {total / elapsed:,.0f} rows/s, {total / elapsed / cores:,.0f} per core")


if __name__ == "__main__":
    main()
