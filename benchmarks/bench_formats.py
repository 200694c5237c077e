"""Latency and throughput of the Keras model and every exported file, interleaved in one process.

    python benchmarks/bench_formats.py [ARTIFACTS] [--rounds N]

Writes ARTIFACTS/bench.json (the numbers the report quotes) and prints one line per row.
The measurement itself lives in export/benchmark.py, so the report and this script agree.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from edgeport.command import Parser, positive_int, quiet_stderr  # noqa: E402


def main() -> int:
    parser = Parser(prog="benchmarks/bench_formats.py", description=__doc__.strip().splitlines()[0])
    parser.add_argument("artifacts", nargs="?", default="artifacts", help="export folder")
    parser.add_argument("--rounds", type=positive_int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    with quiet_stderr():
        from edgeport.export.benchmark import run_benchmark

        bench = run_benchmark(args.artifacts, rounds=args.rounds, progress=print)
    print(f"Wrote {args.artifacts}/bench.json ({len(bench['rows'])} rows, {bench['machine']['cpu_count']} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
