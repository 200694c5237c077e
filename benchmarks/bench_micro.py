"""What a microcontroller gets: each model's micro files as TensorFlow Lite Micro runs them.

    python benchmarks/bench_micro.py [MODEL.keras ...] [--architectures mobilenetv3small] [--fit-images N]
                                     [--npu ethos-u55-128,ethos-u65-256]

For each Fashion-MNIST model given (the seed model, `edgeport train --arch cnn`) and each
keras.applications network named (fitted as bench_ladder.py fits them: padded RGB Fashion-MNIST),
exports model_micro_int8.tflite and model_micro_16x8.tflite (`--formats micro-int8,micro-16x8`:
both built, no skipping) and prints, per file: flash (the model array), the smallest arena TFLM
runs it in, the operators, TFLM's accuracy, accuracy change and agreement with the Keras model on
the validation images (with 95 % intervals), how often LiteRT's reference kernels and XNNPACK
answer as TFLM does, TFLM's time per picture on this machine, and the seconds the two rungs took.
With --npu, each micro file is also compiled by Vela for each Ethos-U configuration named, and
Vela's summary is printed (operators on the NPU, SRAM, flash, inference time at its clock).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_ladder import ARCHITECTURES, TRAIN_IMAGES, architecture_names, fit_architecture  # noqa: E402

from edgeport.command import Parser, positive_int, quiet_stderr  # noqa: E402


def main() -> int:
    parser = Parser(prog="benchmarks/bench_micro.py", description=__doc__.strip().splitlines()[0])
    parser.add_argument("models", nargs="*", help="Fashion-MNIST .keras files")
    parser.add_argument("--architectures", default=None, metavar="a,b,...",
                        help=f"also these keras.applications networks: {','.join(ARCHITECTURES)}")
    parser.add_argument("--fit-images", type=positive_int, default=TRAIN_IMAGES,
                        help="training images for the --architectures networks")
    parser.add_argument("--fit-epochs", type=positive_int, default=4, help="epochs for the --architectures networks")
    parser.add_argument("--keep", default=None, metavar="DIR", help="keep (and reuse) the fitted networks in DIR")
    parser.add_argument("--npu", default=None, metavar="a,b,...", help="Ethos-U configurations to compile for")
    args = parser.parse_args()
    names = architecture_names(parser, args)
    with tempfile.TemporaryDirectory() as scratch:
        models = [(os.path.basename(model), model, "fashion-mnist") for model in args.models]
        models += [fit_architecture(name, args.keep or scratch, args.fit_images, args.fit_epochs) for name in names]
        npus = [n.strip() for n in args.npu.split(",")] if args.npu else []
        rows = [row for label, model, data in models for row in measure(label, model, data, scratch, npus)]
    print(f"\n{'model':<26} {'file':<24} {'flash':>9} {'arena':>9} {'accuracy':>9} {'change (95 %)':>24} "
          f"{'agreement':>10} {'ref/XNN':>13} {'TFLM µs':>8}  operators")
    for r in rows:
        print(f"{r['label']:<26} {r['file']:<24} {r['flash']:>9,} {r['arena']:>9,} {r['accuracy']:>9.4f} "
              f"{r['change']:>24} {r['agreement']:>9.2%} {r['cross']:>13} {r['host_us']:>8,.0f}  {r['ops']}")
    vela = [(r, npu) for r in rows for npu in r["npu"]]
    if vela:
        print(f"\n{'model':<26} {'file':<24} {'NPU':<14} {'on NPU':>14} {'SRAM KiB':>9} {'flash KiB':>10} "
              f"{'DRAM KiB':>9} {'ms':>7} {'MHz':>5}  CPU fallbacks")
    for r, n in vela:
        if isinstance(n, str):
            print(f"{r['label']:<26} {r['file']:<24} {n}")
            continue
        print(f"{r['label']:<26} {r['file']:<24} {n.accelerator:<14} {n.npu_operators:>5} ({100 * n.npu_share:5.1f} %) "
              f"{n.sram_bytes / 1024:>9,.2f} {n.flash_bytes / 1024:>10,.2f} {n.dram_bytes / 1024:>9,.2f} {n.inference_ms:>7.3f} "
              f"{n.clock_hz / 1e6:>5.0f}  {', '.join(n.cpu_fallbacks) or '-'}")
    return 0


def measure(label: str, model: str, data_spec: str, scratch: str, npus: list[str]) -> list[dict]:
    with quiet_stderr():
        from edgeport import runtime
        from edgeport.export import ExportPlan, ValidationError, export_all, load_keras_model
        from edgeport.export.modelfacts import image_shape

        loaded = load_keras_model(model)
        data = runtime.load_dataset(data_spec, image_shape(loaded))
        out = tempfile.mkdtemp(dir=scratch)
        started = time.perf_counter()
        try:
            manifest = export_all(model, out, data, ExportPlan.from_formats("micro-int8,micro-16x8"),
                                  keras_model=loaded, progress=lambda line: print(f"  {line[:140]}", flush=True))
        except ValidationError:
            manifest = runtime.read_manifest(out)
        seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.0f} s for both micro rungs; failed: {manifest.failed or 'none'}", flush=True)
    rows = []
    for name, entry in manifest.files.items():
        v, m = entry.validation, entry.micro
        low, high = v.accuracy_change_interval
        rows.append({"label": label, "file": name, "flash": m.flash_bytes, "arena": m.arena_bytes,
                     "accuracy": v.accuracy, "agreement": v.agreement,
                     "change": f"{100 * v.accuracy_change:+.2f} ({100 * low:+.2f}, {100 * high:+.2f}) pt",
                     "cross": f"{m.reference_agreement:.2%}/{m.xnnpack_agreement:.2%}", "host_us": m.host_us,
                     "ops": ",".join(op[3:] for op in m.ops), "npu": [vela(Path(out) / name, npu) for npu in npus]})
    return rows


def vela(path: Path, accelerator: str):
    """Vela's summary of path compiled for accelerator, or why it could not compile it."""
    from edgeport.export import ExportError
    from edgeport.export.npu import compile_for_npu

    try:
        return compile_for_npu(path, accelerator, path.with_name(f"{path.stem}.{accelerator}.vela.tflite"))
    except ExportError as e:
        return f"{accelerator}: {e}"


if __name__ == "__main__":
    sys.exit(main())
