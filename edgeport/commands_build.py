"""train, export, report: the commands that need TensorFlow (`pip install 'edgeport[export]'`).

Nothing heavy is imported until a command runs, so `edgeport --help` stays fast on any install,
and a base install gets one line saying which extra to add.
"""

from __future__ import annotations

import os
import sys

from edgeport.cli import CommandError, add_command, import_tensorflow, points, positive_int, quiet_stderr, say

DEFAULT_ARTIFACTS = "artifacts"


def register(commands) -> None:
    """Add the TensorFlow subcommands to the `edgeport` parser."""
    train = add_command(
        commands, "train", run_train, "train the tutorial's Fashion-MNIST classifier (or a small CNN)",
        "Train the TensorFlow tutorial's Fashion-MNIST classifier and save model.keras, history.json "
        "and the tutorial's pictures.",
        "edgeport train --arch cnn --epochs 10 --out artifacts")
    train.add_argument("--arch", choices=("mlp", "cnn"), default="mlp",
                       help="mlp: the tutorial's Flatten-Dense(128)-Dense(10); cnn: a small conv net")
    train.add_argument("--epochs", type=positive_int, default=5, help="training epochs")
    train.add_argument("--batch-size", type=positive_int, default=32, help="images per step")
    train.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats the run")
    train.add_argument("--out", default=DEFAULT_ARTIFACTS, help="folder for model.keras, history.json and plots")
    train.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST *-ubyte.gz files "
                       "(default: $FASHION_MNIST_DIR, then /usr/share/datasets/fashion-mnist)")
    train.add_argument("--no-plots", action="store_true", help="skip the tutorial's pictures")

    from edgeport.export.common import DEFAULT_CALIBRATION_SAMPLES
    from edgeport.export.pipeline import ALL_FORMATS

    export = add_command(
        commands, "export", run_export, "export a Keras model to TFLite and ONNX and validate every file",
        "Export a Keras model to every edge format, prove each file against the Keras model on the "
        "test images, and write manifest.json. Exit status 1 names any file that missed its bars.",
        "edgeport export artifacts/model.keras --formats fp32,int8,onnx")
    export.add_argument("model", nargs="?", default=f"{DEFAULT_ARTIFACTS}/model.keras", help="the .keras file")
    export.add_argument("--out", default=None, help="output folder (default: the model's folder)")
    export.add_argument("--formats", default=",".join(ALL_FORMATS), help="comma-separated subset of the formats")
    export.add_argument("--calibration-samples", type=positive_int, default=DEFAULT_CALIBRATION_SAMPLES,
                        help="training images that calibrate the int8 files")
    export.add_argument("--opset", type=positive_int, default=17, help="ONNX opset, 13..18")
    export.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the usual search path)")

    from edgeport.export.validate import DEFAULT_BUDGET_PT

    report = add_command(
        commands, "report", run_report, "benchmark the exported files and write report.md",
        "Benchmark the Keras model and every exported file side by side, then write report.md "
        "(which file to ship, the table, the plots) from manifest.json and bench.json.",
        "edgeport report artifacts --budget 0.5")
    report.add_argument("artifacts", nargs="?", default=DEFAULT_ARTIFACTS, help="folder written by export")
    report.add_argument("--budget", type=points, default=DEFAULT_BUDGET_PT,
                        help="largest accuracy drop, in points, the recommended file may cost")
    report.add_argument("--no-bench", action="store_true", help="reuse bench.json instead of benchmarking again")


def run_train(args) -> int:
    import_tensorflow("keras", "matplotlib")
    from edgeport.train import train

    _, history = train(epochs=args.epochs, arch=args.arch, out_dir=args.out, seed=args.seed,
                       batch_size=args.batch_size, data_dir=args.data_dir, plots=not args.no_plots, progress=say)
    say(f"Wrote {args.out}/model.keras ({history['params']:,} parameters, "
        f"test accuracy {history['test_accuracy']:.4f}, {history['train_seconds']:.0f} s)")
    return 0


def run_export(args) -> int:
    from edgeport.export.pipeline import parse_formats

    try:
        parse_formats(args.formats)
    except ValueError as e:
        raise CommandError(f"argument --formats: {e}", exit_code=2) from None
    import_tensorflow("keras", "tf2onnx", "onnx")
    from edgeport.export import ExportError, ValidationError, export_all

    out = args.out or os.path.dirname(args.model) or "."
    try:
        with quiet_stderr():  # converter and delegate chatter; progress lines go to stdout
            export_all(args.model, out, args.formats, args.calibration_samples, args.opset, args.data_dir,
                       progress=say)
    except ExportError as e:
        raise CommandError(str(e)) from e
    except ValidationError as e:
        print(f"edgeport export: error: {len(e.failures)} file(s) missed their bars (figures in {out}/manifest.json):",
              file=sys.stderr)
        for failure in e.failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    say(f"Wrote {out}/manifest.json: every file within its bars")
    return 0


def run_report(args) -> int:
    import_tensorflow("keras", "matplotlib")
    from edgeport.export.report import build_report

    with quiet_stderr():  # LiteRT's delegate chatter; progress lines go to stdout
        path = build_report(args.artifacts, budget_pt=args.budget, bench=not args.no_bench, progress=say)
    say(f"Wrote {path}")
    return 0
