"""How much the runtime adds on top of the raw engines, measured side by side in one run.

    python benchmarks/bench_runtime.py [ARTIFACTS]

For every .tflite, .onnx and .ort file in ARTIFACTS (export --formats with every rung, and
--mobile, gives each kind): predict_one on a uint8 image against

- "raw": a bare set_tensor/invoke/get_tensor (LiteRT) or session.run (onnxruntime) on an input
  already in the engine's dtype, encoded before timing;
- "by hand": what a caller writes without the runtime for the same uint8 image: encode it, call
  the engine, take the argmax (predict_one's answer is the class; the engine's is an array).

Every side runs on one engine thread and cycles through 256 different test images (engines run
measurably faster on an input they saw the call before). Then predict on the 10,000 test images
against one raw engine call on the whole batch (files that take any batch). Each round runs every
side in turn; a ratio is the median of the rounds' own ratios, so the machine's drift hits both
sides alike. Last, a fresh process that imports the runtime, loads model_int8.tflite and predicts
one image, against one that only imports onnxruntime and ai_edge_litert: time and peak memory.
Targets: predict_one <= 1.3x by hand, predict <= 1.15x, cold start <= 1.3x and < 80 MiB.
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

ROUNDS, CALLS, BATCH_ROUNDS, COLD_RUNS, ROTATE = 61, 100, 7, 9, 256
SUFFIXES = (".tflite", ".onnx", ".ort")
# One engine thread on both sides: an idle onnxruntime pool spins for a while after each call, and
# two sessions' spinning pools in one process would steal each other's core.
THREADS = 1

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
    if path.suffix in (".onnx", ".ort"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return (lambda images: images.astype(np.float32) / 255.0), (lambda x: session.run(None, {name: x})[0])
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=THREADS)
    details, out_index = interpreter.get_input_details()[0], interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(details["index"], [batch_size, *details["shape"][1:]])
    interpreter.allocate_tensors()
    scale, zero = details["quantization"]

    def encode(images):
        x = images.astype(np.float32) / 255.0
        if not scale:
            return x
        info = np.iinfo(details["dtype"])
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(details["dtype"])

    def call(x):
        interpreter.set_tensor(details["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(out_index)

    return encode, call


def rotating(call, inputs):
    """call on a different input each time: a real caller never feeds the same image twice."""
    items = itertools.cycle(inputs)
    return lambda: call(next(items))


def side_by_side(functions, rounds: int, calls: int) -> tuple[np.ndarray, np.ndarray]:
    """Each function's median seconds per call, and the first one's ratio to each, over rounds that
    run them all in turn: the ratio is the median of the rounds' own ratios, so a burst of noise
    on this shared machine hits both sides of a ratio alike."""
    medians = np.array([[np.median(time_calls(f, calls, warmup=3)) for f in functions] for _ in range(rounds)])
    return np.median(medians, axis=0), np.median(medians[:, :1] / medians, axis=0)


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
    for name in sorted(p.name for p in folder.iterdir() if p.suffix in SUFFIXES):
        p = runtime.load(folder / name, threads=THREADS)
        singles = images[:ROTATE]
        encode, call = raw_engine(folder / name, 1)
        # What a caller writes by hand without the runtime: encode the pixels, call the engine, find the class.
        (ours, raw, hand), (_, raw_ratio, hand_ratio) = side_by_side(
            [rotating(p.predict_one, singles), rotating(call, [encode(image[None]) for image in singles]),
             rotating(lambda image: int(call(encode(image[None]))[0].argmax()), singles)], ROUNDS, CALLS)
        report[name] = {"predict_one_us": ours * 1e6, "raw_one_us": raw * 1e6, "one_ratio": raw_ratio,
                        "by_hand_one_us": hand * 1e6, "by_hand_ratio": hand_ratio}
        r = report[name]
        line = (f"{name:<24} {r['predict_one_us']:9.1f} us {r['raw_one_us']:7.1f} us {r['one_ratio']:5.2f}x "
                f"{r['by_hand_one_us']:7.1f} us {r['by_hand_ratio']:5.2f}x   ")
        if p.fixed_batch is None:  # a phone's .ort file takes one image at a time: no batch to compare
            encode, call = raw_engine(folder / name, len(images))
            everything = encode(images)
            (all_ours, all_raw), (_, batch_ratio) = side_by_side([lambda: p.predict(images), lambda: call(everything)],
                                                                 BATCH_ROUNDS, 3)
            r.update(predict_ms=all_ours * 1e3, raw_ms=all_raw * 1e3, batch_ratio=batch_ratio)
            line += f"{r['predict_ms']:9.2f} ms {r['raw_ms']:7.2f} ms {r['batch_ratio']:5.2f}x"
        print(line)
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
