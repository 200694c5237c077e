"""predict, evaluate, bench, verify: the commands a device runs, with the base install only (no TensorFlow;
verify needs the sign extra)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edgeport.command import (
    EXIT_USAGE,
    CommandError,
    add_command,
    add_trust,
    describe_os_error,
    one_line,
    open_model,
    positive_int,
)


def register(commands) -> None:
    """Add the device subcommands to the `edgeport` parser."""
    predict = add_command(
        commands, "predict", run_predict, "classify pictures, folders of pictures or .npy arrays",
        "Classify pictures (PNG, JPEG, ...), folders of them (searched recursively) or .npy arrays. "
        "A picture is fitted the way the model's training images look: a model trained on light "
        "objects on black gets light-background photos inverted, cropped and centred. An input that "
        "cannot be read is reported and the rest are still classified (exit status 1).",
        "edgeport predict artifacts/model_int8.tflite shoe.jpg photos/ batch.npy --json")
    _add_model(predict)
    predict.add_argument("inputs", nargs="*", metavar="INPUT", help="a picture, a folder of pictures, or a .npy array")
    predict.add_argument("--data", default=None, metavar="SPEC",
                         help="also classify a labelled data set's validation images ('fashion-mnist', a folder of "
                              "class folders, an .npz or Parquet), with their true labels")
    predict.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the usual search path)")
    predict.add_argument("--top", type=positive_int, default=3, help="classes listed per image")

    evaluate = add_command(
        commands, "evaluate", run_evaluate, "accuracy on labelled data",
        "Accuracy, per class, of an exported file on labelled data: its test split, else all of it. With "
        "reference_probs.npy beside the file and the data it was validated on, also its agreement with Keras.",
        "edgeport evaluate artifacts/model_int8.onnx --json",
        "edgeport evaluate exported/model_int8.tflite --data photos/test")
    _add_model(evaluate)
    _add_data(evaluate)

    bench = add_command(
        commands, "bench", run_bench, "single-image latency and batch throughput",
        "Single-image latency (p50, p99) and batch throughput of an exported file, after warm-up.",
        "edgeport bench artifacts/model_int8.tflite --runs 2000")
    _add_model(bench)
    bench.add_argument("--runs", type=positive_int, default=1000, help="timed single-image calls")
    bench.add_argument("--warmup", type=positive_int, default=100, help="untimed calls first")
    bench.add_argument("--batch", type=positive_int, default=10_000, help="images in the throughput batch")

    verify = add_command(
        commands, "verify", run_verify, "check a signed export and say what its signature covers",
        "Verify an export folder's model.sig with a public key, reading every signed file once, and list what "
        "is signed (name, size, sha256), by which key, and what in the folder the signature does not cover. "
        "Exit status 1, with one line, when the signature does not hold.",
        "edgeport verify artifacts --trust pub.pem",
        "edgeport verify artifacts --trust pub.pem --json")
    verify.add_argument("folder", nargs="?", default="artifacts", help="an export folder signed with 'edgeport export --sign'")
    verify.add_argument("--trust", required=True, metavar="PUB.pem",
                        help="the EC public key (PEM) of the key the export was signed with")
    verify.add_argument("--json", action="store_true", help="machine-readable output")


def _add_data(parser) -> None:
    parser.add_argument("--data", default=None, metavar="SPEC",
                        help="'fashion-mnist', a folder of class folders (or with train/ and test/), an .npz, or "
                             "Parquet with image and label columns; its test split, else all of it (default: the "
                             "data in manifest.json beside the model, else fashion-mnist)")
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the usual search path)")


def _add_model(parser) -> None:
    parser.add_argument("model", help="a .tflite or .onnx file (manifest.json beside it is checked)")
    parser.add_argument("--threads", type=positive_int, default=None, help="engine threads (default: the engine's)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the sha256 check against manifest.json (and ignore a malformed one)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_trust(parser)


def run_predict(args) -> int:
    from edgeport import runtime

    if not args.inputs and args.data is None:
        raise CommandError("nothing to classify: name pictures, folders or .npy files, or pass --data",
                           exit_code=EXIT_USAGE)
    opened = open_model(args, args.threads)
    predictor = opened.predictor
    results, failed = [], 0
    for path in runtime.find_inputs(args.inputs):
        try:
            rows = predict_input(predictor, path, args.top)
        except (OSError, ValueError, TypeError) as e:
            message = describe_os_error(e) if isinstance(e, OSError) else " ".join(str(e).split())
            print(f"edgeport predict: error: {message}", file=sys.stderr, flush=True)
            rows, failed = [{"image": str(path), "error": message}], failed + 1
        _emit(rows, results, args.json)
    if args.data is not None:
        data = data_for(opened, args)
        _, split = data.validation
        probs = predictor.predict(split.images)
        rows = [{**_result(f"{data.source}[{i}]", row, predictor.class_names, args.top), "true_label": int(label),
                 "true_class_name": predictor.class_names[label]} for i, (row, label) in enumerate(zip(probs, split.labels))]
        _emit(rows, results, args.json)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def _emit(rows: list[dict], results: list[dict], as_json: bool) -> None:
    """Keep rows for --json, or print each answer as it comes (a pipe sees it at once)."""
    results.extend(rows)
    if not as_json:
        for row in rows:
            if "error" not in row:
                print(_text_line(row), flush=True)


def data_for(opened, args):
    """The validation split of --data (default: the data of the manifest beside the model, else
    Fashion-MNIST), read through the data layer and fitted by the model's own picture rule, and
    checked against the model's classes."""
    from edgeport import runtime

    predictor, manifest = opened.predictor, opened.manifest
    spec = args.data or (manifest.data.source if manifest and manifest.data else runtime.FASHION_MNIST)
    data = runtime.load_dataset(spec, predictor.image_shape, args.data_dir, background=predictor.fitting,
                                class_names=predictor.class_names, validation_only=True)
    data.check_classes(predictor.num_classes)
    return data


def predict_input(predictor, path: Path, top: int) -> list[dict]:
    """One result per image in a picture or a .npy file (a .npy batch gives one per row)."""
    from edgeport import runtime

    if path.suffix.lower() == ".npy":
        array = runtime.fit_array(runtime.read_array(path), predictor.image_shape, predictor.fitting, str(path))
        probs = predictor.predict(array)
        names = [str(path)] if len(probs) == 1 else [f"{path}[{i}]" for i in range(len(probs))]
        return [_result(name, row, predictor.class_names, top) for name, row in zip(names, probs)]
    picture = runtime.read_picture(path, predictor.image_shape, predictor.fitting)
    probs = predictor.predict(picture.pixels)[0]
    return [{**_result(str(path), probs, predictor.class_names, top), "inverted": picture.inverted}]


def _result(name: str, probs, class_names, top: int) -> dict:
    import numpy as np

    ranked = np.argsort(probs)[::-1][:top]
    best = int(ranked[0])
    return {
        "image": name,
        "label": best,
        "class_name": class_names[best],
        "confidence": float(probs[best]),
        "top": [{"label": int(k), "class_name": class_names[k], "probability": float(probs[k])} for k in ranked],
    }


def _text_line(row: dict) -> str:
    ranked = ", ".join(f"{one_line(t['class_name'])} {100 * t['probability']:.1f} %" for t in row["top"])
    note = "  (inverted: light background)" if row.get("inverted") else ""
    if "true_class_name" in row:
        note += f"  (true: {one_line(row['true_class_name'])})"
    return (f"{one_line(row['image'])}: {one_line(row['class_name'])} ({100 * row['confidence']:.1f} %)  "
            f"top {len(row['top'])}: {ranked}{note}")


def run_evaluate(args) -> int:
    from edgeport import runtime

    opened = open_model(args, args.threads)
    predictor = opened.predictor
    data = data_for(opened, args)
    split_name, split = data.validation
    reference = _reference_for(opened, data, split)
    result = runtime.evaluate(predictor, split.images, split.labels, reference=reference)
    result.pop("predictions")
    if args.json:
        print(json.dumps({"model": args.model, "data": data.source, "split": split_name, **result}))
        return 0
    print(f"{Path(args.model).name}: accuracy {result['accuracy']:.4f} on {result['n']:,} images "
          f"({split_name} split of {data.source})")
    width = max(len(name) for name in predictor.class_names)
    for name, accuracy in zip(predictor.class_names, result["per_class_accuracy"]):
        print(f"  {name:<{width}} {accuracy:.3f}")
    if reference is not None:
        print(f"agreement with Keras {100 * result['agreement']:.2f} % ({len(result['changed_indices'])} images "
              f"changed class), accuracy change {100 * result['accuracy_change']:+.2f} pt, "
              f"max abs diff {result['max_abs_diff']:.2e}")
    return 0


def _reference_for(opened, data, split):
    """The Keras probabilities beside the model (with --trust, the signed ones), when they were measured on
    these very images."""
    import io

    import numpy as np

    manifest = opened.manifest
    if manifest is None or manifest.data is None or manifest.data.source != data.source:
        return None
    content = opened.read(manifest.data.reference)
    if content is None:
        return None
    try:
        reference = np.load(io.BytesIO(content), allow_pickle=False)
    except ValueError:  # not an array file: the figures beside the model cannot be used
        return None
    return reference if len(reference) == len(split) else None


def run_bench(args) -> int:
    import numpy as np

    from edgeport.runtime.bench import bench_predictor

    predictor = open_model(args, args.threads).predictor
    # Random pixels of the model's own shape: latency does not depend on what the image shows.
    images = np.random.default_rng(0).integers(0, 256, (args.batch, *predictor.input_shape[1:]), dtype=np.uint8)
    result = bench_predictor(predictor, images, runs=args.runs, warmup=args.warmup)
    if args.json:
        print(json.dumps({"model": args.model, **result}))
        return 0
    single, batch = result["single"], result["batch"]
    print(f"{Path(args.model).name} ({predictor.format}, {predictor.quantization}, {predictor.size_bytes / 1024:.1f} KB)")
    print(f"  single image: p50 {single['p50_ms']:.3f} ms  p99 {single['p99_ms']:.3f} ms  "
          f"({single['runs']} runs after {args.warmup} warm-up)")
    print(f"  batch of {batch['images']:,}: {batch['seconds'] * 1e3:.1f} ms  ({batch['images_per_s']:,.0f} images/s)")
    return 0


def run_verify(args) -> int:
    from edgeport.signing import SIGNATURE_NAME, covered, open_trusted

    folder = Path(args.folder)
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder: name the export folder that holds {SIGNATURE_NAME}")
    trusted = open_trusted(folder, args.trust)
    signed, others = covered(trusted)
    if args.json:
        print(json.dumps({"folder": str(folder), "verified": True, "signer": trusted.signer,
                          "signed": {name: trusted.digests[name] for name in signed}, "not_covered": others}))
        return 0
    print(f"{folder}: {SIGNATURE_NAME} holds, signed by the {trusted.signer} ({args.trust})")
    print(f"Signed, and read whole just now ({len(signed)} files):")
    width = max(map(len, signed))
    for name in signed:
        print(f"  {one_line(name):<{width}}  {trusted.sizes[name]:>12,} bytes  sha256 {trusted.digests[name]}")
    if others:
        print(f"Not covered, so a change to them goes unnoticed ({len(others)}): {', '.join(map(one_line, others))}")
        if "micro/" in others:
            print("  micro/ is the firmware kit, generated from the signed micro file: its sources are not signed; "
                  "export again to regenerate it before you build")
    else:
        print("Nothing else is in the folder.")
    print(f"A signature does not tell an old signed export from the newest: to refuse a rollback, pin "
          f"manifest.json's sha256 ({trusted.digests['manifest.json'][:16]}...) where you deploy.")
    return 0
