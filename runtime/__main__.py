"""python -m runtime: run an exported .tflite or .onnx classifier, without TensorFlow.

  predict MODEL IMAGE...   class, confidence and top 3 for each picture (PNG/JPEG) or .npy array
  evaluate MODEL           accuracy on the Fashion-MNIST test set (and agreement with Keras)
  bench MODEL              single-image p50 / p99 latency and batch throughput
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from runtime.cli_util import Parser, positive_int, quiet_stderr, run

PROG = "python -m runtime"


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="Run an exported .tflite or .onnx classifier, without TensorFlow.",
                    epilog="\n".join(__doc__.split("\n")[2:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{predict,evaluate,bench}")

    def add_model(sub):
        sub.add_argument("model", help="a .tflite or .onnx file (manifest.json beside it is checked)")
        sub.add_argument("--threads", type=positive_int, default=None, help="engine threads (default: the engine's)")
        sub.add_argument("--no-verify", action="store_true", help="skip the sha256 check against manifest.json")
        sub.add_argument("--json", action="store_true", help="machine-readable output")

    predict = commands.add_parser("predict", help="classify pictures or .npy arrays")
    add_model(predict)
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="PNG/JPEG (converted and resized) or .npy")
    predict.add_argument("--top", type=positive_int, default=3, help="classes listed per image (default 3)")

    evaluate = commands.add_parser("evaluate", help="accuracy on the Fashion-MNIST test set")
    add_model(evaluate)
    evaluate.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the usual search path)")

    bench = commands.add_parser("bench", help="latency and throughput, after warm-up")
    add_model(bench)
    bench.add_argument("--runs", type=positive_int, default=1000, help="timed single-image calls (default 1000)")
    bench.add_argument("--warmup", type=positive_int, default=100, help="untimed calls first (default 100)")
    bench.add_argument("--batch", type=positive_int, default=10_000, help="images in the throughput batch (default 10000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import runtime

    with quiet_stderr():  # LiteRT announces its CPU delegate on stderr
        predictor = runtime.load(args.model, threads=args.threads, verify=not args.no_verify)
    return {"predict": cmd_predict, "evaluate": cmd_evaluate, "bench": cmd_bench}[args.command](predictor, args)


def cmd_predict(predictor, args) -> int:
    from runtime.images import read_image

    h, w, c = predictor.image_shape
    results = []
    for name in args.images:
        array = read_image(name, h, w, c)
        probs = predictor.predict(array)
        for i, row in enumerate(probs):
            top = np.argsort(row)[::-1][: args.top]
            results.append({
                "image": name if len(probs) == 1 else f"{name}[{i}]",
                "label": int(top[0]),
                "class_name": predictor.class_names[top[0]],
                "confidence": float(row[top[0]]),
                "top": [{"label": int(k), "class_name": predictor.class_names[k], "probability": float(row[k])} for k in top],
            })
    if args.json:
        print(json.dumps(results, indent=2))
    for r in results if not args.json else ():
        ranked = ", ".join(f"{t['class_name']} {100 * t['probability']:.1f} %" for t in r["top"])
        print(f"{r['image']}: {r['class_name']} ({100 * r['confidence']:.1f} %)  top {len(r['top'])}: {ranked}")
    return 0


def cmd_evaluate(predictor, args) -> int:
    import runtime

    images, labels = runtime.load_fashion_mnist("test", args.data_dir)
    reference_path = Path(args.model).with_name("reference_probs.npy")
    reference = np.load(reference_path) if reference_path.is_file() else None
    if reference is not None and reference.shape != (len(images), predictor.num_classes):
        raise ValueError(f"{reference_path} has shape {reference.shape}; expected ({len(images)}, {predictor.num_classes})")
    result = runtime.evaluate(predictor, images, labels, reference=reference)
    result.pop("predictions")
    if args.json:
        print(json.dumps({"model": args.model, **result}))
        return 0
    print(f"{Path(args.model).name}: accuracy {result['accuracy']:.4f} on {result['n']:,} test images")
    for name, accuracy in zip(predictor.class_names, result["per_class_accuracy"]):
        print(f"  {name:<12} {accuracy:.3f}")
    if reference is not None:
        print(f"agreement with Keras {100 * result['agreement']:.2f} % ({len(result['changed_indices'])} images changed class), "
              f"accuracy change {100 * result['accuracy_change']:+.2f} pt, max abs diff {result['max_abs_diff']:.2e}")
    return 0


def cmd_bench(predictor, args) -> int:
    from runtime.bench import bench_predictor

    # Random pixels of the model's own shape: latency does not depend on what the image shows.
    images = np.random.default_rng(0).integers(0, 256, (args.batch, *predictor.input_shape[1:]), dtype=np.uint8)
    result = bench_predictor(predictor, images, runs=args.runs, warmup=args.warmup)
    if args.json:
        print(json.dumps({"model": args.model, **result}))
        return 0
    single, batch = result["single"], result["batch"]
    print(f"{Path(args.model).name} ({predictor.format}, {predictor.quantization}, {predictor.size_bytes / 1024:.1f} KB)")
    print(f"  single image: p50 {single['p50_ms']:.3f} ms  p99 {single['p99_ms']:.3f} ms  ({single['runs']} runs after {args.warmup} warm-up)")
    print(f"  batch of {batch['images']:,}: {batch['seconds'] * 1e3:.1f} ms  ({batch['images_per_s']:,.0f} images/s)")
    return 0


if __name__ == "__main__":
    run(PROG, main)
