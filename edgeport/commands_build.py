"""train, export, report: the commands that need TensorFlow (`pip install 'edgeport[export]'`).

Nothing heavy is imported until a command runs, so `edgeport --help` stays fast on any install,
and a base install gets one line saying which extra to add.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from edgeport.command import (
    EXIT_USAGE,
    CommandError,
    add_command,
    import_tensorflow,
    numbers,
    points,
    positive_int,
    quiet_stderr,
    say,
)

DEFAULT_ARTIFACTS = "artifacts"


def register(commands) -> None:
    """Add the TensorFlow subcommands to the `edgeport` parser."""
    train = add_command(
        commands, "train", run_train, "train the tutorial's Fashion-MNIST classifier (or a small CNN)",
        "Train the TensorFlow tutorial's Fashion-MNIST classifier and save model.keras, history.json "
        "and the tutorial's pictures.",
        "edgeport train --arch cnn --out artifacts")
    train.add_argument("--arch", choices=("mlp", "cnn"), default="mlp",
                       help="mlp: the tutorial's Flatten-Dense(128)-Dense(10); cnn: a small conv net")
    train.add_argument("--epochs", type=positive_int, default=None,
                       help="training epochs (default: 5 for mlp, as the tutorial; 10 for cnn)")
    train.add_argument("--batch-size", type=positive_int, default=None,
                       help="images per step (default: 32 for mlp; 64 for cnn)")
    train.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats the run")
    train.add_argument("--out", default=DEFAULT_ARTIFACTS, help="folder for model.keras, history.json and plots")
    train.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST *-ubyte.gz files "
                       "(default: $FASHION_MNIST_DIR, then /usr/share/datasets/fashion-mnist)")
    train.add_argument("--no-plots", action="store_true", help="skip the tutorial's pictures")

    add_command(
        commands, "export", run_export, "export a Keras model to TFLite and ONNX and validate every file",
        "Export a Keras image classifier to every edge format, prove each file against the Keras model on the "
        "validation data, and write manifest.json. Each file carries its class names, preprocessing, output kind "
        "and background inside itself. Exit status 1 names any file that missed its bars.",
        "edgeport export artifacts/model.keras",
        "edgeport export my_model.keras --data photos/ --out exported --class-names cat,dog", flags=_export_flags)

    add_command(
        commands, "report", run_report, "benchmark the exported files and write report.md",
        "Benchmark the Keras model and every exported file side by side, then write report.md "
        "(which file to ship, the table, the plots) from manifest.json and bench.json.",
        "edgeport report artifacts --budget 0.5", flags=_report_flags)


def _export_flags(export) -> None:
    """export's flags: their choices and defaults come from the plan (the rung table, boards, NPUs)."""
    from edgeport.export.plan import (ALL_FORMATS, BOARDS, DEFAULT_BUDGET_PT, DEFAULT_CALIBRATION_SAMPLES, NPUS,
                                      OBJECTIVES, SEARCHES)
    from edgeport.runtime.sources import FASHION_MNIST


    export.add_argument("model", nargs="?", default=f"{DEFAULT_ARTIFACTS}/model.keras",
                        help="the Keras model: a .keras or .h5 file, or a SavedModel folder")
    add_model_flags(export)
    export.add_argument("--fit", choices=("frame", "resize"), default=None,
                        help="how pictures of another size are fitted to the model: frame (invert a light "
                             "background, crop to the object, centre, resize: Fashion-MNIST's way) or resize (as "
                             "Keras's image_dataset_from_directory); default: resize, and for data on dark "
                             "backgrounds the one the Keras model scores better on; the files record it")
    export.add_argument("--input-size", type=input_size, default=None, metavar="HxW",
                        help="the image size to export at, for a model that takes any size (a Resizing layer "
                             "inside); default: the model's own")
    export.add_argument("--out", default=None, help="output folder (default: the model's folder)")
    export.add_argument("--data", default=None, metavar="SPEC",
                        help=f"labelled data: '{FASHION_MNIST}', a folder of class folders (or with train/ and test/ "
                             f"folders of them), an .npz with x/y, x_train/y_train and/or x_test/y_test, or Parquet "
                             f"with image and label columns; validation runs on its test split, else on all of it "
                             f"(default: {FASHION_MNIST}, for 28x28 models only)")
    export.add_argument("--calibration-data", default=None, metavar="SPEC",
                        help="data that calibrates the int8 files (default: --data's train split, else a seeded "
                             "sample of it)")
    export.add_argument("--calibration-samples", type=positive_int, default=DEFAULT_CALIBRATION_SAMPLES,
                        help="how many images calibrate the int8 files")
    export.add_argument("--class-names", default=None, metavar="FILE|a,b,c",
                        help="the classes' names, in label order: a file with one per line, or a comma-separated "
                             "list (default: the data's folder names or class_names, else 0..N-1)")
    export.add_argument("--scale", type=float, default=None,
                        help="model input = pixel * scale + offset (default: 1 for a model that starts with "
                             "Rescaling or Normalization, else 1/255)")
    export.add_argument("--offset", type=float, default=None, help="see --scale (default 0)")
    export.add_argument("--mean", type=numbers, default=None, metavar="m,...",
                        help="per-channel mean of intensities in [0, 1]: model input = (pixel / 255 - mean) / std")
    export.add_argument("--std", type=numbers, default=None, metavar="s,...", help="per-channel standard deviation")
    export.add_argument("--formats", default=None, metavar="a,b,...",
                        help=f"build exactly these rungs: {','.join(ALL_FORMATS)} (default: the whole ladder; an "
                             f"additional rung is skipped once a file of its size class has passed)")
    export.add_argument("--budget", type=points, default=DEFAULT_BUDGET_PT,
                        help="accuracy points a quantized file may lose and still be recommended")
    export.add_argument("--class-budget", type=points, default=None, metavar="POINTS",
                        help="recall points any one class may lose in a recommended file (default: twice --budget)")
    export.add_argument("--integer-only", action="store_true",
                        help="recommend only files whose arithmetic is all integer (NPUs, microcontrollers)")
    export.add_argument("--strict", action="store_true",
                        help="exit 1 when any file misses its bar, even if one is recommended")
    export.add_argument("--objective", choices=OBJECTIVES, default="balanced",
                        help="what the recommendation optimises within budget: balanced (the smallest file at most "
                             "2x slower than the fastest, beyond the timing's noise), size, or speed (the lowest "
                             "single-image latency measured on this machine)")
    export.add_argument("--search", choices=SEARCHES, default="quick",
                        help="quick: each rung's first candidate, searching further only when it misses the budget; "
                             "thorough: every calibration method and a per-layer probe of every int8 file")
    export.add_argument("--every-image", dest="sequential", action="store_false",
                        help="validate every file on every validation image; by default each file stops at the "
                             "first look (1,000 images, then twice as many) whose 99.9 %% intervals settle its bars, "
                             "and the recommended files are then validated on every image")
    export.add_argument("--mobile", action="store_true",
                        help="also write each ONNX file as a fixed-shape batch-1 .ort file for phones "
                             "(model_int8.mobile.ort), with onnxruntime's NNAPI and CoreML verdicts")
    export.add_argument("--micro", action="store_true",
                        help="also build a microcontroller's file (batch 1, full integer: model_micro_int8.tflite, "
                             "and 16x8 if int8 misses the budget), validated in TensorFlow Lite Micro, with a "
                             "firmware kit in OUT/micro/")
    export.add_argument("--board", choices=tuple(BOARDS), default=None,
                        help="with --micro: the recommended micro file must fit this board's RAM and flash ("
                             + "; ".join(f"{name}: {board.about}" for name, board in BOARDS.items()) + ")")
    export.add_argument("--ram", default=None, metavar="SIZE",
                        help="with --micro: RAM for the tensor arena and the picture (256KiB, 1MiB...; replaces the "
                             "board's)")
    export.add_argument("--flash", default=None, metavar="SIZE",
                        help="with --micro: flash for the model array (replaces the board's)")
    export.add_argument("--no-emulator", dest="emulate", action="store_false",
                        help="with --micro: do not build the micro files for a Cortex-M4 and run them under QEMU "
                             "(arm-none-eabi-gcc, qemu-system-arm); the kit then declares the 64-bit host's arena")
    export.add_argument("--npu", choices=tuple(NPUS), default=None,
                        help="with --micro: also compile the micro file for this Arm Ethos-U NPU with Vela "
                             "(needs edgeport[npu]); the compiled .vela.tflite runs only on the board")
    export.add_argument("--sign", default=None, metavar="KEY.pem",
                        help="sign the manifest and every file it lists into model.sig with this EC private key "
                             "(OpenSSF model signing, offline; needs edgeport[sign]); commands given --trust "
                             "PUB.pem then refuse anything changed")
    export.add_argument("--opset", type=positive_int, default=17, help="ONNX opset, 13..18")
    export.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the usual search path)")


def _report_flags(report) -> None:
    from edgeport.export.plan import DEFAULT_BUDGET_PT

    report.add_argument("artifacts", nargs="?", default=DEFAULT_ARTIFACTS, help="folder written by export")
    report.add_argument("--budget", type=points, default=DEFAULT_BUDGET_PT,
                        help="largest accuracy drop, in points, the recommended file may cost")
    report.add_argument("--class-budget", type=points, default=None, metavar="POINTS",
                        help="recall points any one class may lose in the recommended file (default: twice --budget)")
    report.add_argument("--no-bench", action="store_true", help="reuse bench.json instead of benchmarking again")
    report.add_argument("--rounds", type=positive_int, default=5,
                        help="interleaved benchmark rounds (more: steadier percentiles on a busy machine)")
    report.add_argument("--data", default=None, metavar="SPEC",
                        help="the data the files were validated on, if it has moved (default: the manifest's record)")
    report.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the usual search path)")
    report.add_argument("--model", default=None, metavar="PATH",
                        help="the Keras model the files were exported from, for its benchmark rows and size "
                             "(default: beside manifest.json, else where export read it, when its sha256 matches)")
    add_model_flags(report, "the one the manifest names")


def add_model_flags(parser, default: str = "its only output") -> None:
    """--output and --custom-objects: how to read a Keras model with several outputs or custom classes."""
    parser.add_argument("--output", default=None, metavar="NAME|INDEX",
                        help=f"the Keras model's classifier head, when it has several outputs (default: {default})")
    parser.add_argument("--custom-objects", action="append", default=[], metavar="FILE.py",
                        help="a Python file defining (and registering) custom Keras classes the model uses; "
                             "imported before the model loads; repeatable")
    parser.add_argument("--unsafe-code", "--trust-model-code", dest="trust_model_code", action="store_true",
                        help="run the model's own code: Lambda layers (Keras's safe mode off) and a TF1 SavedModel's "
                             "restore and init operations (loaded first in a child that cannot write files); only "
                             "for models you made or trust")


def run_train(args) -> int:
    from edgeport.runtime.fashion_mnist import find_data_dir

    find_data_dir(args.data_dir)  # a missing dataset or output folder is said before TensorFlow loads
    check_writable_folder(Path(args.out))
    import_tensorflow("keras", "matplotlib")
    from edgeport.train import train

    _, history = train(epochs=args.epochs, arch=args.arch, out_dir=args.out, seed=args.seed,
                       batch_size=args.batch_size, data_dir=args.data_dir, plots=not args.no_plots, progress=say)
    say(f"Wrote {args.out}/model.keras ({history['params']:,} parameters, "
        f"test accuracy {history['test_accuracy']:.4f}, {history['train_seconds']:.0f} s)")
    return 0


def run_export(args) -> int:
    from edgeport.export.plan import ExportPlan, board_for

    # Everything that can be checked without TensorFlow is checked first: the flags, the plan,
    # the model file's name and the output folder.
    try:
        plan = ExportPlan.from_formats(
            args.formats, micro=args.micro, board=board_for(args.board, args.ram, args.flash), npu=args.npu,
            emulate=args.emulate, sequential=args.sequential,
            budget_pt=args.budget, class_budget_pt=args.class_budget, integer_only=args.integer_only, strict=args.strict,
            objective=args.objective, search=args.search,
            mobile=args.mobile, opset=args.opset, calibration_samples=args.calibration_samples,
            class_names=class_names_flag(args.class_names), preprocessing=preprocessing_flags(args))
    except ValueError as e:
        raise CommandError(f"{e}", exit_code=EXIT_USAGE) from None
    from edgeport.export.loading import check_custom_objects, check_model_path

    check_model_path(args.model)
    check_custom_objects(args.custom_objects)
    out = Path(args.out) if args.out else Path(args.model).parent  # a SavedModel given as dir/ is still beside it
    check_writable_folder(out)
    if args.sign is not None:  # a key that cannot sign is refused now, not after the export is published
        from edgeport.signing import check_key

        check_key(args.sign, private=True)
    import_tensorflow("keras", "tf2onnx", "onnx")
    from edgeport import runtime
    from edgeport.export import ExportError, ValidationError, export_all, load_keras_model
    from edgeport.export.modelfacts import image_shape
    from edgeport.runtime.images import DARK, RESIZE, Fitting

    model = load_keras_model(args.model, args.output, args.custom_objects, args.input_size,
                             trust_code=args.trust_model_code)  # once: export_all takes it
    shape = image_shape(model)
    if args.data is None and shape != (28, 28, 1):
        raise CommandError(f"the model takes {'x'.join(map(str, shape))} images, and the default data, Fashion-MNIST, "
                           f"is 28x28x1: pass --data with the model's own labelled data (a folder of class folders, "
                           f"an .npz or a Parquet file)")
    # The picture rule: --fit, else the one of the data's two (dark backgrounds: frame or resize) that the
    # Keras model scores better on; the files record it.
    spec = args.data or runtime.FASHION_MNIST
    data = runtime.load_dataset(spec, shape, args.data_dir, class_names=plan.class_names, fit=args.fit)
    if args.fit is None and data.background == DARK and data.kind != "fashion-mnist":
        from edgeport.export.picturefit import choose_fit

        other = runtime.load_dataset(spec, shape, args.data_dir, background=Fitting(RESIZE, DARK),
                                     class_names=plan.class_names, validation_only=True)
        chosen = choose_fit(model, [data, other], plan.preprocessing, say)
        if chosen.fit == RESIZE:  # the whole data, calibration side too, fitted by the rule chosen
            chosen = dataclasses.replace(runtime.load_dataset(spec, shape, args.data_dir, class_names=plan.class_names,
                                                              background=Fitting(RESIZE, DARK)),
                                         fit_found=chosen.fit_found)
        data = chosen
    calibration = (runtime.load_dataset(args.calibration_data, shape, args.data_dir, background=data.fitting,
                                        class_names=plan.class_names) if args.calibration_data else None)
    try:
        with quiet_stderr():  # converter and delegate chatter; progress lines go to stdout
            manifest = export_all(args.model, out, data, plan, calibration=calibration, progress=say,
                                  keras_model=model)
    except ExportError as e:
        raise CommandError(str(e)) from e
    except ValidationError as e:
        print(f"edgeport export: error: {e.summary} (figures in {out}/manifest.json)", file=sys.stderr)
        for failure in e.failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    say(_recommendation_line(manifest, out))
    if args.sign is not None:
        from edgeport.signing import sign_export

        say(f"Signed {sign_export(out, args.sign)}: the manifest and every file it lists")
    return 0


def check_writable_folder(folder: Path) -> None:
    """Refuse an output folder that cannot be made or written, before any heavy work.

    Raises:
        OSError: naming the folder (the command line turns it into one line).
    """
    import errno
    import tempfile

    existing = folder
    while not existing.exists():  # the nearest folder that exists must take the new ones
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    try:  # a real attempt, since permission bits do not tell root (or a read-only mount) anything
        os.rmdir(tempfile.mkdtemp(prefix=".edgeport-probe-", dir=existing))
    except OSError as e:
        raise type(e)(e.errno, e.strerror, str(folder)) from None


def _recommendation_line(manifest, out) -> str:
    from edgeport.export.recommend import objective_words, settle_line
    from edgeport.export.verdict import figures_words
    from edgeport.runtime.manifest import Verdict

    chosen = manifest.recommended
    files = manifest.files
    overall = files[chosen.overall]
    missed = sorted(name for name, entry in files.items() if entry.validation.verdict is Verdict.FAIL)
    others = "; ".join(f"{kind}: {name} ({files[name].bytes / 1024:.1f} KB{_latency(files[name])}"
                       f"{_slower(files[name], files.get(chosen.fastest))})"
                       for kind, name in (("smallest", chosen.smallest), ("fastest", chosen.fastest))
                       if name and name != chosen.overall)
    line = (f"Recommended within {chosen.budget_pt:g} pt{' (integer only)' if chosen.integer_only else ''}: "
            f"{chosen.overall} (the {objective_words(chosen.objective)}; {overall.bytes / 1024:.1f} KB"
            f"{_latency(overall)}{_slower(overall, files.get(chosen.fastest))}; {figures_words(overall.validation)})"
            + (f"; {others}" if others else "")
            + f"; TFLite {chosen.tflite or 'none'}, ONNX {chosen.onnx or 'none'}. Wrote {out}/manifest.json"
            + (f"; missed their bars: {', '.join(missed)}" if missed else "")
            + _class_clause(files)
            + (f"; failed to build (reasons in the manifest): {', '.join(manifest.failed)}" if manifest.failed else ""))
    settle = settle_line(files, chosen.overall, chosen.budget_pt, manifest.data.images)
    return line + (f"\n{settle}" if settle else "") + _micro_line(files, chosen.micro, chosen.board)


def _class_clause(files) -> str:
    """'; not recommended, for the class each hurts beyond the 1 pt per-class budget: NAME (CLASS -4.60 pt, 95 %
    ...)' for the files that fail that bar alone (the worst class's interval wholly beyond it), or ''."""
    from edgeport.export.verdict import interval_words
    from edgeport.runtime.manifest import Verdict

    hurt = [(name, miss) for name, entry in files.items() for miss in entry.validation.misses or ()
            if miss.kind == "class" and miss.verdict is Verdict.FAIL
            and all(other.kind == "class" or other.verdict is not Verdict.FAIL for other in entry.validation.misses)]
    if not hurt:
        return ""
    return (f"; not recommended, for the class each hurts beyond the {100 * hurt[0][1].bar:g} pt per-class budget: "
            + ", ".join(f"{name} ({files[name].validation.worst_class} {100 * miss.value:+.2f} pt, 95 % "
                        f"{interval_words(miss.interval, 'pt', 'plain')} pt)" for name, miss in hurt))


def _micro_line(files, name, board) -> str:
    """The microcontroller's file recommended, with its TFLM figures ('' when none was built within budget)."""
    from edgeport.export.micro import needs
    from edgeport.export.verdict import figures_words

    if name is None:
        return ""
    entry = files[name]
    m, v = entry.micro, entry.validation
    ram, _ = needs(m, entry.tensors["input"]["shape"])
    board = f" on {board.name}" if board else ""
    npu = m.npu
    vela = (f"; {npu.accelerator} (Vela's estimate): {100 * npu.npu_share:.0f} % of operators on the NPU, "
            f"{npu.inference_ms:.2f} ms at {npu.clock_hz / 1e6:.0f} MHz, {npu.sram_bytes / 1024:.1f} KiB SRAM, "
            f"{npu.file}" if npu else f"; Vela could not compile it: {m.npu_error}" if m.npu_error else "")
    arena = (f"arena {m.m4.arena_bytes:,} bytes on a Cortex-M4 ({m.arena_bytes:,} on this machine)" if m.m4 else
             f"arena {m.arena_bytes:,} bytes on this machine")
    return (f"\nFor microcontrollers{board}: {name} ({m.flash_bytes / 1024:.1f} KiB flash, {arena}, "
            f"{ram / 1024:.1f} KiB RAM with the kit's margin and the picture; in TFLM accuracy {v.accuracy:.4f}, "
            f"{figures_words(v)}){vela}")


def _latency(entry) -> str:
    return f", {entry.latency_us:,.0f} µs per image" if entry.latency_us is not None else ""


def _slower(entry, fastest) -> str:
    """', Nx slower than the fastest' when entry was timed and is notably slower than the fastest file."""
    if fastest is None or entry.latency_us is None or fastest.latency_us is None or entry is fastest:
        return ""
    ratio = entry.latency_us / fastest.latency_us
    return f", {ratio:.1f}x slower than the fastest" if ratio >= 1.2 else ""


def preprocessing_flags(args):
    """The Preprocessing that --scale/--offset or --mean/--std ask for, or None for the model's default."""
    from edgeport.runtime.modelinfo import Preprocessing

    scaled, normalized = args.scale is not None or args.offset is not None, args.mean is not None or args.std is not None
    if scaled and normalized:
        raise CommandError("give either --scale/--offset or --mean/--std, not both", exit_code=EXIT_USAGE)
    try:
        if scaled:
            if args.scale is None:
                raise CommandError("--offset needs --scale: model input = pixel * scale + offset", exit_code=EXIT_USAGE)
            return Preprocessing((args.scale,), (args.offset or 0.0,))
        if normalized:
            if args.mean is None or args.std is None:
                raise CommandError("--mean and --std go together", exit_code=EXIT_USAGE)
            return Preprocessing.from_mean_std(args.mean, args.std)
    except ValueError as e:
        raise CommandError(str(e), exit_code=EXIT_USAGE) from None
    return None


def input_size(value: str) -> tuple[int, int]:
    """--input-size: HxW (e.g. 160x160), or one number for a square."""
    parts = value.lower().split("x")
    try:
        size = tuple(int(p) for p in parts) * (2 if len(parts) == 1 else 1)
    except ValueError:
        size = ()
    if len(size) != 2 or not all(0 < n <= 8192 for n in size):
        raise argparse.ArgumentTypeError(f"expected HxW, two whole numbers from 1 to 8192 such as 160x160; got {value!r}")
    return size


def class_names_flag(value: str | None):
    """--class-names: a file with one name per line, or a comma-separated list."""
    if value is None:
        return None
    path = Path(value)
    names = path.read_text(encoding="utf-8").splitlines() if path.is_file() else value.split(",")
    names = [name.strip() for name in names if name.strip()]
    if not names:
        raise CommandError(f"--class-names: no names in {value!r}", exit_code=EXIT_USAGE)
    return tuple(names)


def run_report(args) -> int:
    from edgeport import runtime
    from edgeport.runtime.manifest import MANIFEST_NAME

    manifest = runtime.read_manifest(args.artifacts)  # nothing to report on is said before TensorFlow loads
    if manifest is None:
        raise FileNotFoundError(f"{Path(args.artifacts) / MANIFEST_NAME}: nothing to report on (run 'edgeport export' "
                                f"first)")
    from edgeport.export.loading import check_custom_objects

    check_custom_objects(args.custom_objects)
    import_tensorflow("keras", "matplotlib")
    from edgeport.export.report import build_report

    data = runtime.validation_data(manifest, args.data, args.data_dir, validation_only=True)
    with quiet_stderr():  # LiteRT's delegate chatter; progress lines go to stdout
        path = build_report(args.artifacts, budget_pt=args.budget, class_budget_pt=args.class_budget,
                            bench=not args.no_bench, data=data, progress=say, rounds=args.rounds, output=args.output,
                            custom_objects=args.custom_objects, model=args.model, trust_code=args.trust_model_code)
    say(f"Wrote {path}")
    return 0
