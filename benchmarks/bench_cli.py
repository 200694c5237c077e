"""The front door's time: `edgeport --help` and `edgeport predict --help` in fresh processes, next to the bare
interpreter, measured side by side in one run (the commands are interleaved round by round, so a busy spell of
a shared machine falls on all of them alike).

    .venv/bin/python benchmarks/bench_cli.py [--rounds 21]

Prints, per command, the median wall time of its process and its ratio to `python -c pass`. The goal for the
two help commands is at most 0.2 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

EDGEPORT = str(Path(sys.executable).with_name("edgeport"))
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "edgeport --help": [EDGEPORT, "--help"],
    "edgeport predict --help": [EDGEPORT, "predict", "--help"],
    "edgeport export --help": [EDGEPORT, "export", "--help"],
    "edgeport --version": [EDGEPORT, "--version"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="runs of each command, interleaved")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - started)
    bare = statistics.median(times["python -c pass"])
    print(f"{'command':<26} {'median':>8} {'vs python':>10}   ({args.rounds} rounds)")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<26} {median:7.3f}s {median / bare:9.2f}x")


if __name__ == "__main__":
    main()
