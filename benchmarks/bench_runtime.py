"""How much the runtime adds on top of the raw engines, measured side by side in one run.

    python benchmarks/bench_runtime.py [ARTIFACTS]

For each exported file: predict_one against a raw set_tensor/invoke/get_tensor (LiteRT) or
session.run (onnxruntime) on an input already in the engine's dtype (both sides cycle through
256 different test images: engines run measurably faster on an input they saw the call
before), and against the same call with the caller's own pixel encoding written by hand
(the fairer floor: a fresh input costs the engine a few microseconds more than a stale one);
and predict on the 10,000 test images against one raw engine call on the whole batch. Rounds alternate between
the two so that the machine's drift hits both alike; medians of the rounds are compared.
Then a fresh process that imports the runtime, loads model_int8.tflite and predicts one
image, against one that only imports onnxruntime and ai_edge_litert: time and peak memory.
Targets: predict_one <= 1.5x, predict <= 1.15x, cold start <= 1.3x and < 80 MiB.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from edgeport import runtime
from edgeport.runtime.bench import time_calls

ROUNDS, CALLS, BATCH_ROUNDS, COLD_RUNS, ROTATE = 15, 400, 7, 9, 256
FILES = ("model_fp32.tflite", "model_int8.tflite", "model.onnx", "model_int8.onnx")

COLD_BASELINE = "import onnxruntime, ai_edge_litert.interpreter"
COLD_RUNTIME = (
    "import numpy as np\nfrom edgeport import runtime\n"
    "p = runtime.load({path!r})\n"
    "p.predict_one(np.zeros((28, 28), np.uint8))"
)
# Peak memory from VmHWM: ru_maxrss would include the benchmark process it was forked from.
COLD_WRAPPER = (
    "import time\nt = time.perf_counter()\n{body}\nt = time.perf_counter() - t\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "print(t, hwm)"
)


def raw_engine(path: Path, batch_size: int):
    """The engine's own call, on its own interpreter or session, sized for batch_size images.

    Returns (encode, call): encode turns uint8 images into the engine's input dtype (done
    before timing), call(x) is the bare engine call: the floor the runtime is measured against.
    """
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return (lambda images: images.astype(np.float32) / 255.0), (lambda x: session.run(None, {name: x}))
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    details, out_index = interpreter.get_input_details()[0], interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(details["index"], [batch_size, *details["shape"][1:]])
    interpreter.allocate_tensors()
    scale, zero = details["quantization"]

    def encode(images):
        x = images.astype(np.float32) / 255.0
        return np.clip(np.round(x / scale + zero), -128, 127).astype(details["dtype"]) if scale else x

    def call(x):
        interpreter.set_tensor(details["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(out_index)

    return encode, call


def rotating(call, inputs):
    """call on a different input each time: a real caller never feeds the same image twice."""
    items = itertools.cycle(inputs)
    return lambda: call(next(items))


def side_by_side(ours, raw, rounds: int, calls: int) -> tuple[float, float]:
    """Median seconds per call of ours and raw, over alternating rounds."""
    a, b = [], []
    for _ in range(rounds):
        a.append(np.median(time_calls(ours, calls, warmup=3)))
        b.append(np.median(time_calls(raw, calls, warmup=3)))
    return float(np.median(a)), float(np.median(b))


def cold_start(path: Path) -> dict:
    runs = {"runtime": [], "baseline": []}
    for _ in range(COLD_RUNS):
        for key, body in (("runtime", COLD_RUNTIME.format(path=str(path))), ("baseline", COLD_BASELINE)):
            out = subprocess.run([sys.executable, "-c", COLD_WRAPPER.format(body=body)], capture_output=True,
                                 text=True, check=True, cwd=Path(__file__).resolve().parents[1]).stdout.split()
            runs[key].append((float(out[0]), int(out[1]) / 1024))
    result = {}
    for key, values in runs.items():
        result[key] = {"seconds": float(np.median([v[0] for v in values])),
                       "peak_mib": float(np.median([v[1] for v in values]))}
    return result


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts")
    images, _ = runtime.load_fashion_mnist("test")
    print(f"{'file':<20} {'predict_one':>12} {'raw':>10} {'ratio':>6} {'by hand':>10} {'ratio':>6}   "
          f"{'predict 10k':>12} {'raw':>10} {'ratio':>6}")
    report = {}
    for name in FILES:
        p = runtime.load(folder / name)
        singles = images[:ROTATE]
        encode, call = raw_engine(folder / name, 1)
        one_ours, one_raw = side_by_side(rotating(p.predict_one, singles),
                                         rotating(call, [encode(image[None]) for image in singles]), ROUNDS, CALLS)
        # What a caller writes by hand without the runtime: encode the pixels, call the engine.
        _, by_hand = side_by_side(rotating(p.predict_one, singles),
                                  rotating(lambda image: call(encode(image[None])), singles), ROUNDS, CALLS)
        encode, call = raw_engine(folder / name, len(images))
        everything = encode(images)
        all_ours, all_raw = side_by_side(lambda: p.predict(images), lambda: call(everything), BATCH_ROUNDS, 3)
        report[name] = {"predict_one_us": one_ours * 1e6, "raw_one_us": one_raw * 1e6, "one_ratio": one_ours / one_raw,
                        "by_hand_one_us": by_hand * 1e6, "by_hand_ratio": one_ours / by_hand,
                        "predict_ms": all_ours * 1e3, "raw_ms": all_raw * 1e3, "batch_ratio": all_ours / all_raw}
        r = report[name]
        print(f"{name:<20} {r['predict_one_us']:9.1f} us {r['raw_one_us']:7.1f} us {r['one_ratio']:5.2f}x "
              f"{r['by_hand_one_us']:7.1f} us {r['by_hand_ratio']:5.2f}x   "
              f"{r['predict_ms']:9.2f} ms {r['raw_ms']:7.2f} ms {r['batch_ratio']:5.2f}x")
    cold = cold_start(folder / "model_int8.tflite")
    ratio = cold["runtime"]["seconds"] / cold["baseline"]["seconds"]
    print(f"cold start (import runtime, load model_int8.tflite, predict one): {cold['runtime']['seconds'] * 1e3:.0f} ms, "
          f"peak {cold['runtime']['peak_mib']:.0f} MiB; importing onnxruntime + ai_edge_litert alone: "
          f"{cold['baseline']['seconds'] * 1e3:.0f} ms, peak {cold['baseline']['peak_mib']:.0f} MiB; ratio {ratio:.2f}x")
    report["cold_start"] = cold | {"ratio": ratio}
    (folder / "bench_runtime.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
