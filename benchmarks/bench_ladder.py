"""How long each rung of the quantization ladder takes to build and validate, and the whole ladder.

    python benchmarks/bench_ladder.py MODEL.keras [MODEL.keras ...] [--repeats N]
    python benchmarks/bench_ladder.py --architectures mobilenetv3small,mobilenetv2,efficientnetb0,resnet50

Exports every rung (no skipping) of each model on Fashion-MNIST into a scratch folder, N times,
and prints the median seconds per rung (conversion, searches and validation) and for the whole
export, with each rung's size and agreement. A model is exported N times in a row; the medians
come from those runs, side by side in one process.

--architectures builds keras.applications networks (weights=None, at their smallest input,
32x32x3, width reduced where the architecture allows), fits each for four epochs on 12,000 Fashion-MNIST images
padded to 32x32 and made RGB, and times the default ladder (what `edgeport export` runs)
on each, once: a real architecture's cost, not the suite's.
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


# keras.applications at their smallest input; alpha where the architecture has a width multiplier.
ARCHITECTURES = {
    "mobilenetv3small": ("MobileNetV3Small", {"alpha": 0.75}),
    "mobilenetv2": ("MobileNetV2", {"alpha": 0.35}),
    "efficientnetb0": ("EfficientNetB0", {}),
    "resnet50": ("ResNet50", {}),
}
TRAIN_IMAGES, VALIDATION_IMAGES, EPOCHS = 12000, 1000, 4


def main() -> int:
    parser = Parser(prog="benchmarks/bench_ladder.py", description=__doc__.strip().splitlines()[0])
    parser.add_argument("models", nargs="*", help=".keras files (e.g. the seed model and `edgeport train --arch cnn`)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="exports per model")
    parser.add_argument("--architectures", default=None, metavar="a,b,...",
                        help=f"time the default ladder on these keras.applications networks instead: "
                             f"{','.join(ARCHITECTURES)}")
    args = parser.parse_args()
    if args.architectures:
        return architectures([name.strip() for name in args.architectures.split(",")])
    if not args.models:
        parser.error("give .keras files or --architectures")
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


def architectures(names: list[str]) -> int:
    """Fit each network briefly on padded RGB Fashion-MNIST, then time `export_all` with the default plan."""
    unknown = [name for name in names if name not in ARCHITECTURES]
    if unknown:
        print(f"unknown architecture {', '.join(unknown)}; choose from {', '.join(ARCHITECTURES)}", file=sys.stderr)
        return 2
    with quiet_stderr(), tempfile.TemporaryDirectory() as scratch:
        import keras
        import numpy as np

        from edgeport import runtime
        from edgeport.export import ValidationError, export_all
        from edgeport.export.modelfacts import preprocessing_for

        fashion = runtime.load_dataset("fashion-mnist", (28, 28, 1))
        splits = {}
        for split, count in (("train", TRAIN_IMAGES), ("test", VALIDATION_IMAGES)):
            images = fashion.splits[split].images[:count]
            splits[split] = (np.repeat(np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0))), 3, axis=3),
                             fashion.splits[split].labels[:count])
        npz = os.path.join(scratch, "fashion32.npz")
        np.savez(npz, x_train=splits["train"][0], y_train=splits["train"][1], x_test=splits["test"][0],
                 y_test=splits["test"][1], class_names=np.array(fashion.class_names))
        data = runtime.load_dataset(npz, (32, 32, 3))
        for name in names:
            builder, options = ARCHITECTURES[name]
            keras.utils.set_random_seed(0)
            model = getattr(keras.applications, builder)(weights=None, input_shape=(32, 32, 3), classes=10, **options)
            for layer in model.layers:  # keras.applications' 0.999 leaves the moving statistics unsettled by a short fit
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.momentum = 0.9
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            started = time.perf_counter()
            x, y = splits["train"]
            model.fit(preprocessing_for(model).apply(x).astype("float32"), y, epochs=EPOCHS, batch_size=64, verbose=0)
            fitted = time.perf_counter() - started
            path = os.path.join(scratch, f"{name}.keras")
            model.save(path)
            print(f"{name}: fitted in {fitted:.0f} s; exporting", flush=True)
            started = time.perf_counter()
            try:
                export_all(path, os.path.join(scratch, name), data,
                           progress=lambda line: print(f"  {line}", flush=True))  # long: show it as it goes
            except ValidationError:
                pass  # no file within budget is a result here
            except ValueError as e:  # a network the short fit left no better than chance
                print(f"{name}: not exported: {e}")
                continue
            seconds = time.perf_counter() - started
            print(f"{name} ({builder}{', alpha ' + str(options['alpha']) if options else ''}, "
                  f"{model.count_params():,} parameters, fit {fitted:.0f} s): default ladder {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
