"""What onnxruntime's static calibration holds in memory: one pass over the calibration images against the
strides edgeport takes when their activations would not fit CALIBRATION_MEMORY.

    python benchmarks/bench_calibration.py [--architecture efficientnetb0] [--size 64] [--images 500]
                                           [--methods minmax,entropy,percentile] [--repeats 1]

The network is keras.applications' (weights=None: memory is a matter of shapes), converted once to ONNX. Each
int8 build (edgeport's quantize_onnx) runs in a child process, one pass and strided side by side, and prints
its seconds and the child's peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CHILD = """
import resource, sys, time
import numpy as np
from edgeport import export
from edgeport.export import onnx_quant
source, out, method, memory, images, size = sys.argv[1:7]
if memory != "default":
    onnx_quant.CALIBRATION_MEMORY = int(memory)
pictures = np.random.default_rng(0).integers(0, 256, (int(images), int(size), int(size), 3)).astype(np.uint8)
start = time.perf_counter()
export.quantize_onnx(source, out, pictures, export.OnnxPlan(export.Quantization.INT8, method=method))
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", default="efficientnetb0")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--methods", default="minmax,entropy,percentile")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    import keras

    from edgeport import export

    applications = {name.lower(): getattr(keras.applications, name) for name in dir(keras.applications)
                    if name[0].isupper()}
    model = applications[args.architecture](weights=None, input_shape=(args.size, args.size, 3), classes=10)
    with tempfile.TemporaryDirectory() as scratch:
        source = export.to_onnx(model, os.path.join(scratch, "model.onnx"))
        print(f"{args.architecture} {args.size}x{args.size}, {args.images} calibration images, "
              f"median of {args.repeats}")
        for method in args.methods.split(","):
            figures = {}
            for _ in range(args.repeats):
                for label, memory in (("one pass", str(1 << 50)), ("strided", "default")):
                    out = os.path.join(scratch, f"{method}.onnx")
                    result = subprocess.run([sys.executable, "-c", CHILD, str(source), out, method, memory,
                                             str(args.images), str(args.size)], capture_output=True, text=True)
                    if result.returncode != 0:
                        print(f"  {method:<10} {label:<8} failed: {result.stderr.strip().splitlines()[-1]}")
                        continue
                    seconds, peak = result.stdout.split()[-2:]
                    figures.setdefault(label, []).append((float(seconds), int(peak)))
            for label, runs in figures.items():
                print(f"  {method:<10} {label:<8} {statistics.median(s for s, _ in runs):7.1f} s  "
                      f"peak {statistics.median(p for _, p in runs) / 2**30:5.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
