"""What the quantization ladder costs: against the bare converters, rung by rung, on real architectures.

    python benchmarks/bench_ladder.py MODEL.keras [...] [--architectures mobilenetv3small,...] [--repeats N]
    python benchmarks/bench_ladder.py MODEL.keras [...] --every-rung [--repeats N]

By default, for each Fashion-MNIST model given and each keras.applications network named, the
default export (`edgeport export`: the ladder, validation, the manifest) is timed side by side
with the bare converters a user would run by hand: TFLiteConverter.from_keras_model to float32
and to full int8 (500 calibration images), tf2onnx, and onnxruntime's quantize_static (500
images, per-channel QDQ). Each round runs both, in turn; the medians and their ratio are printed,
with each side's peak memory (a child process per side, so the peaks do not mix; each side's peak is that of
its process and its children together, sampled).

--architectures builds keras.applications networks (weights=None, 32x32x3, width reduced where
the architecture allows; efficientnetb0, densenet121, resnet50v2 and convnexttiny at 64x64), fits
each for four epochs (--fit-epochs) on 12,000 (--fit-images) Fashion-MNIST images padded (and
resized) to its input and made RGB, then times it as above. The export side also prints the
peak memory reached by the end of each step, so a peak can be traced to its step.

--same-files adds a third side: the export restricted to the bare converters' four files (--formats
BARE_FORMATS), so that its ratio to the bare side is what proving them costs, apart from the ladder's further
files and their searches.

--every-rung exports every rung (no skipping) of each model N times and prints the median
seconds per rung (conversion, searches and validation), with each rung's size and agreement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from edgeport.command import Parser, positive_int, quiet_stderr  # noqa: E402

# A rung's progress line (not the recommended file's later line for its validation on every image).
LINE = re.compile(r"^(model\S+)\s+([\d.]+) KB  accuracy .* agreement\s+([\d.]+) % .*\(([\d.]+) s(?:; about [^)]*)?\)$")


# keras.applications at a small input; alpha where the architecture has a width multiplier.
ARCHITECTURES = {
    "mobilenetv3small": ("MobileNetV3Small", {"alpha": 0.75}, 32),
    "mobilenetv2": ("MobileNetV2", {"alpha": 0.35}, 32),
    "mobilenetv2-96": ("MobileNetV2", {"alpha": 0.35}, 96),
    "efficientnetv2b0": ("EfficientNetV2B0", {}, 64),
    "efficientnetb0": ("EfficientNetB0", {}, 64),
    "resnet50": ("ResNet50", {}, 32),
    "densenet121": ("DenseNet121", {}, 64),
    "resnet50v2": ("ResNet50V2", {}, 64),
    "convnexttiny": ("ConvNeXtTiny", {}, 64),
}
TRAIN_IMAGES, VALIDATION_IMAGES, EPOCHS = 12000, 1000, 4
CALIBRATION_IMAGES = 500
BARE_FORMATS = "fp32,int8,onnx,onnx-int8"  # the files the bare side builds, as export's --formats names them


def main() -> int:
    parser = Parser(prog="benchmarks/bench_ladder.py", description=__doc__.strip().splitlines()[0])
    parser.add_argument("models", nargs="*", help="Fashion-MNIST .keras files (e.g. the seed model and "
                                                  "`edgeport train --arch cnn`)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="rounds per model")
    parser.add_argument("--architectures", default=None, metavar="a,b,...",
                        help=f"also these keras.applications networks: {','.join(ARCHITECTURES)}")
    parser.add_argument("--every-rung", action="store_true", help="time every rung of the models instead")
    parser.add_argument("--same-files", action="store_true",
                        help=f"also time the export of the bare side's files alone (--formats {BARE_FORMATS})")
    parser.add_argument("--fit-images", type=positive_int, default=TRAIN_IMAGES,
                        help="training images for the --architectures networks")
    parser.add_argument("--fit-epochs", type=positive_int, default=EPOCHS,
                        help="epochs for the --architectures networks")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="keep the fitted networks and their data in DIR, and reuse them from there")
    parser.add_argument("--child", nargs=3, default=None, metavar=("bare|export|same", "MODEL", "DATA"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    if args.every_rung:
        return every_rung(args.models, args.repeats) if args.models else parser.error("give .keras files")
    names = architecture_names(parser, args)
    with tempfile.TemporaryDirectory() as scratch:
        models = [(model, model, "fashion-mnist") for model in args.models]
        models += [fit_architecture(name, args.keep or scratch, args.fit_images, args.fit_epochs) for name in names]
        sides = ("bare", "export", "same") if args.same_files else ("bare", "export")
        rows = [compare(*model, args.repeats, sides) for model in models]
    print(f"\n{'model':<28} {'bare (s)':>9} {'export (s)':>11} {'ratio':>6} {'export peak':>12} {'bare peak':>10} "
          f"{'ETA error half-way':>19}" + (f" {'same files (s)':>15} {'ratio':>6}" if args.same_files else ""))
    for row in rows:
        eta = row["eta_error_half_way"]
        same = f" {row['same_s']:15.1f} {row['same_s'] / row['bare_s']:5.2f}x" if "same_s" in row else ""
        print(f"{row['name']:<28} {row['bare_s']:9.1f} {row['export_s']:11.1f} {row['ratio']:5.2f}x "
              f"{row['export_peak_mb']:9.0f} MB {row['bare_peak_mb']:7.0f} MB "
              f"{'—' if eta is None else f'{100 * eta:+.0f} %':>19}{same}")
    return 0


def architecture_names(parser, args) -> list[str]:
    """The --architectures named (a usage error for an unknown one, or for neither models nor networks)."""
    names = [name.strip() for name in args.architectures.split(",")] if args.architectures else []
    unknown = [name for name in names if name not in ARCHITECTURES]
    if unknown:
        parser.error(f"unknown architecture {', '.join(unknown)}; choose from {', '.join(ARCHITECTURES)}")
    if not args.models and not names:
        parser.error("give .keras files or --architectures")
    return names


def compare(name: str, model: str, data: str, repeats: int, sides: tuple[str, ...] = ("bare", "export")) -> dict:
    """Bare converters and the default export of one model (and with "same" the export of the bare side's files
    alone), in turn, repeats times: medians and their ratio."""
    times = {side: [] for side in sides}
    peaks = {side: [] for side in sides}
    errors = []
    for round_ in range(repeats):
        for side in sides:
            seconds, peak, error = run_child(side, model, data)
            times[side].append(seconds)
            peaks[side].append(peak)
            if error is not None and side == "export":
                errors.append(error)
            print(f"{name}: round {round_ + 1} {side} {seconds:.1f} s, peak {peak:.0f} MB", flush=True)
    bare, export = statistics.median(times["bare"]), statistics.median(times["export"])
    return {"name": name, "bare_s": bare, "export_s": export, "ratio": export / bare,
            "bare_peak_mb": max(peaks["bare"]), "export_peak_mb": max(peaks["export"]),
            "eta_error_half_way": statistics.median(errors) if errors else None,
            **({"same_s": statistics.median(times["same"])} if "same" in sides else {})}


def run_child(side: str, model: str, data: str) -> tuple[float, float, float | None]:
    """(seconds of work after the imports, peak resident MB, the time-left estimate's error half-way) of one
    child process."""
    process = subprocess.Popen([sys.executable, __file__, "--child", side, model, data], stdout=subprocess.PIPE,
                               text=True)
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{side} of {model} failed ({process.returncode}):\n{out[-2000:]}")
    *steps, last = out.strip().splitlines()
    for line in steps:  # the export's steps with the peak so far
        print(line)
    result = json.loads(last)
    for failure in result.get("failed", []):
        print(f"  bare step failed: {failure}")
    return result["seconds"], result["peak_mb"], result.get("eta_error")


def child(side: str, model: str, data_spec: str) -> int:
    """One side, timed after the imports: the export as `edgeport export` runs it (with "same", of the bare side's
    files alone), or the bare converters."""
    with quiet_stderr(), tempfile.TemporaryDirectory() as out:
        import keras  # noqa: F401 (imported before the clock starts, on both sides)
        import onnxruntime.quantization  # noqa: F401
        import tensorflow as tf  # noqa: F401
        import tf2onnx  # noqa: F401

        from edgeport import runtime
        from edgeport.export import ExportPlan, ValidationError, export_all, load_keras_model
        from edgeport.export.modelfacts import image_shape

        sample_tree()
        started = time.perf_counter()
        estimates = []  # (seconds since the start, the time left a rung's line estimated)
        if side in ("export", "same"):
            loaded = load_keras_model(model)
            data = runtime.load_dataset(data_spec, image_shape(loaded))

            def step(line: str) -> None:  # the peak so far at the end of each step: where a peak comes from
                shown = line if len(line) <= 150 else f"{line[:95]} … {line[-50:]}"  # its seconds and time left
                print(f"  {time.perf_counter() - started:6.1f} s {peak_mb():7.0f} MB  {shown}", flush=True)
                left = re.search(r"; about (\d+(?:\.\d)?) s left\)$", line)
                if left:
                    estimates.append((time.perf_counter() - started, float(left.group(1))))

            try:
                plan = ExportPlan.from_formats(BARE_FORMATS) if side == "same" else None
                export_all(model, out, data, plan, keras_model=loaded, progress=step)
            except ValidationError:
                pass  # no file within budget is a result here
        else:
            failed = bare(model, data_spec, out)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "failed": failed if side == "bare" else [],
                      "eta_error": eta_error(estimates, seconds)}))
    return 0


def eta_error(estimates: list[tuple[float, float]], seconds: float) -> float | None:
    """The relative error of the time-left estimate on the rung line nearest the half-way point of the ladder
    (the export's progress lines, issue 36's goal: within 20 %); None without estimates."""
    if not estimates:
        return None
    at, left = min(estimates, key=lambda item: abs(item[0] - seconds / 2))
    actual = seconds - at
    return (left - actual) / actual if actual > 0 else None


def peak_mb() -> float:
    """The peak of this process and its children together: the larger of its own high-water mark (VmHWM starts
    afresh at exec; a fork's ru_maxrss carries the parent's) and the largest sum of resident memory the tree
    sampler saw (the export validates in a worker process while it converts; shared pages count once per process,
    so the sum is an upper bound)."""
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    return max(own, _TREE_PEAK[0])


_TREE_PEAK = [0.0]


def sample_tree(every_s: float = 0.05) -> None:
    """Sample the resident memory of this process and all its descendants, summed, every every_s seconds, in a
    daemon thread: the tree's peak (a child's own high-water mark says nothing of when it was reached)."""
    import threading

    def resident_mb() -> dict[int, tuple[int, float]]:
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/statm") as statm:
                    pages = int(statm.read().split()[1])
            except (OSError, ValueError, IndexError):
                continue
            found[int(entry)] = (parent, pages * os.sysconf("SC_PAGE_SIZE") / 2**20)
        return found

    def run() -> None:
        me = os.getpid()
        while True:
            processes, tree = resident_mb(), {me}
            grew = True
            while grew:
                grown = {pid for pid, (parent, _) in processes.items() if parent in tree} - tree
                tree |= grown
                grew = bool(grown)
            total = sum(processes[pid][1] for pid in tree if pid in processes)
            _TREE_PEAK[0] = max(_TREE_PEAK[0], total)
            time.sleep(every_s)

    threading.Thread(target=run, name="tree-peak", daemon=True).start()


def bare(model_path: str, data_spec: str, out: str) -> list[str]:
    """What a user runs by hand: float32 and full-int8 TFLite, tf2onnx, onnxruntime's quantize_static.

    Returns the steps that failed (each tried anyway: a model one converter cannot take still has the
    others' time and memory), with the error's first line.
    """
    import keras
    import numpy as np
    import tensorflow as tf
    import tf2onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from edgeport import runtime
    from edgeport.export.common import frozen_function
    from edgeport.export.modelfacts import image_shape, preprocessing_for

    model = keras.saving.load_model(model_path)
    data = runtime.load_dataset(data_spec, image_shape(model))
    images = preprocessing_for(model).apply(data.splits["train"].images[:CALIBRATION_IMAGES]).astype(np.float32)
    images = images.reshape((-1, *model.input_shape[1:]))  # the seed model takes (28, 28)
    failed = []

    def step(name, run):
        try:
            run()
        except Exception as e:  # the converters raise many types
            failed.append(f"{name}: {str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__}")

    def tflite(int8: bool):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([image[None]] for image in images)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
        with open(os.path.join(out, "int8.tflite" if int8 else "fp32.tflite"), "wb") as file:
            file.write(converter.convert())

    step("TFLite float32", lambda: tflite(False))
    step("TFLite int8", lambda: tflite(True))
    # tf2onnx turns captured tensors (Normalization's mean and variance, in EfficientNet) into graph inputs:
    # the bare path converts the frozen function's graph, as any user of such a model must.
    frozen = frozen_function(model)
    onnx_path = os.path.join(out, "model.onnx")
    step("tf2onnx", lambda: tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(), input_names=[t.name for t in frozen.inputs],
        output_names=[t.name for t in frozen.outputs], opset=17, output_path=onnx_path))
    feed = frozen.inputs[0].name.split(":")[0] + ":0"

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._chunks = iter(np.array_split(images, 10))

        def get_next(self):
            chunk = next(self._chunks, None)
            return None if chunk is None else {feed: chunk}

    step("quantize_static", lambda: quantize_static(
        onnx_path, os.path.join(out, "int8.onnx"), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8))
    return failed


def fit_architecture(name: str, scratch: str, train_images: int = TRAIN_IMAGES, epochs: int = EPOCHS
                     ) -> tuple[str, str, str]:
    """Fit a keras.applications network briefly on padded RGB Fashion-MNIST: (label, model path, data path)."""
    builder, options, size = ARCHITECTURES[name]
    label = f"{builder} {size}x{size}" + (f" a{options['alpha']}" if options else "")
    path, npz = os.path.join(scratch, f"{name}.keras"), os.path.join(scratch, f"fashion{size}.npz")
    if os.path.isfile(path) and os.path.isfile(npz):  # kept by an earlier run (--keep)
        return label, path, npz
    os.makedirs(scratch, exist_ok=True)
    with quiet_stderr(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy 2's copy keyword, once per batch of the fit
        import keras
        import numpy as np

        from edgeport import runtime
        from edgeport.export.modelfacts import preprocessing_for

        fashion = runtime.load_dataset("fashion-mnist", (28, 28, 1))
        splits = {}
        for split, count in (("train", train_images), ("test", VALIDATION_IMAGES)):
            images = np.pad(fashion.splits[split].images[:count], ((0, 0), (2, 2), (2, 2), (0, 0)))
            if size != 32:
                images = np.asarray(keras.ops.image.resize(images, (size, size))).round().clip(0, 255).astype(np.uint8)
            splits[split] = (np.repeat(images, 3, axis=3), fashion.splits[split].labels[:count])
        np.savez(npz, x_train=splits["train"][0], y_train=splits["train"][1], x_test=splits["test"][0],
                 y_test=splits["test"][1], class_names=np.array(fashion.class_names))
        keras.utils.set_random_seed(0)
        model = getattr(keras.applications, builder)(weights=None, input_shape=(size, size, 3), classes=10, **options)
        for layer in model.layers:  # keras.applications' 0.999 leaves the moving statistics unsettled by a short fit
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        started = time.perf_counter()
        x, y = splits["train"]
        model.fit(preprocessing_for(model).apply(x).astype("float32"), y, epochs=epochs, batch_size=64, verbose=0)
        model.save(path)
    print(f"{label}: {model.count_params():,} parameters, fitted in {time.perf_counter() - started:.0f} s", flush=True)
    return label, path, npz


def every_rung(models: list[str], repeats: int) -> int:
    """Every rung of each model, exported repeats times: the median seconds per rung and for the whole export."""
    with quiet_stderr():
        from edgeport import runtime
        from edgeport.export import ALL_FORMATS, ExportPlan, ValidationError, export_all

        data = runtime.load_dataset("fashion-mnist", (28, 28, 1))
        for model in models:
            rungs, totals = {}, []
            for _ in range(repeats):
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
            print(f"{model}: whole ladder median {statistics.median(totals):.1f} s over {repeats} exports")
            for name, runs in rungs.items():
                print(f"  {name:<22} {statistics.median(r[0] for r in runs):6.2f} s  {runs[0][1]:8.1f} KB  "
                      f"agreement {runs[0][2]:6.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
