"""How long each rung of the quantization ladder takes to build and validate, and the whole ladder.

    python benchmarks/bench_ladder.py MODEL.keras [MODEL.keras ...] [--repeats N]

Exports every rung (no skipping) of each model on Fashion-MNIST into a scratch folder, N times,
and prints the median seconds per rung (conversion, searches and validation) and for the whole
export, with each rung's size and agreement. A model is exported N times in a row; the medians
come from those runs, side by side in one process.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from edgeport.command import Parser, positive_int, quiet_stderr  # noqa: E402

LINE = re.compile(r"^(model\S+)\s+([\d.]+) KB .* agreement\s+([\d.]+) % .*\(([\d.]+) s\)$")


def main() -> int:
    parser = Parser(prog="benchmarks/bench_ladder.py", description=__doc__.strip().splitlines()[0])
    parser.add_argument("models", nargs="+", help=".keras files (e.g. the seed model and `edgeport train --arch cnn`)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="exports per model")
    args = parser.parse_args()
    with quiet_stderr():
        from edgeport import runtime
        from edgeport.export import ALL_FORMATS, ExportPlan, ValidationError, export_all

        data = runtime.load_dataset("fashion-mnist", (28, 28, 1))
        for model in args.models:
            rungs, totals = {}, []
            for _ in range(args.repeats):
                lines = []
                with tempfile.TemporaryDirectory() as out:
                    started = time.perf_counter()
                    try:
                        export_all(model, out, data, ExportPlan.from_formats(ALL_FORMATS), progress=lines.append)
                    except ValidationError:
                        pass  # a rung that misses its bar is a result here, not a failure
                    totals.append(time.perf_counter() - started)
                for line in lines:
                    match = LINE.match(line)
                    if match:
                        name, kb, agreement, seconds = match.groups()
                        rungs.setdefault(name, []).append((float(seconds), float(kb), float(agreement)))
            print(f"{model}: whole ladder median {statistics.median(totals):.1f} s over {args.repeats} exports")
            for name, runs in rungs.items():
                print(f"  {name:<22} {statistics.median(r[0] for r in runs):6.2f} s  {runs[0][1]:8.1f} KB  "
                      f"agreement {runs[0][2]:6.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
