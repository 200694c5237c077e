"""python -m export: export a Keras model to TFLite and ONNX, validate every file, write the manifest.

  python -m export [MODEL.keras] [--out DIR] [--formats fp32,fp16,...] [--calibration-samples N] [--opset N]
  python -m export report [ARTIFACTS] [--budget PT]     rebuild the report from what is on disk
"""

from __future__ import annotations

import os
import sys

from runtime.cli_util import Parser, positive_int, quiet_stderr, run

PROG = "python -m export"


def export_main(argv: list[str]) -> int:
    from export.common import DEFAULT_CALIBRATION_SAMPLES
    from export.pipeline import ALL_FORMATS

    parser = Parser(prog=PROG, description="Export a Keras model to every edge format and prove each file right.",
                    epilog="'python -m export report --help' rebuilds the report.")
    parser.add_argument("model", nargs="?", default="artifacts/model.keras", help="the .keras file (default artifacts/model.keras)")
    parser.add_argument("--out", default=None, help="output folder (default: the model's folder)")
    parser.add_argument("--formats", default=",".join(ALL_FORMATS),
                        help=f"comma-separated subset of {','.join(ALL_FORMATS)} (default: all)")
    parser.add_argument("--calibration-samples", type=positive_int, default=DEFAULT_CALIBRATION_SAMPLES,
                        help=f"training images that calibrate the int8 files (default {DEFAULT_CALIBRATION_SAMPLES})")
    parser.add_argument("--opset", type=positive_int, default=17, help="ONNX opset, 13..18 (default 17)")
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the usual search path)")
    args = parser.parse_args(argv)

    from export.pipeline import parse_formats

    try:
        parse_formats(args.formats)
    except ValueError as e:
        parser.error(f"argument --formats: {e}")
    _import_tensorflow_quietly()
    from export.pipeline import export_all
    from export.validate import ValidationError

    out = args.out or os.path.dirname(args.model) or "."
    try:
        with quiet_stderr():  # converter and delegate chatter; progress lines go to stdout
            export_all(args.model, out, args.formats, args.calibration_samples, args.opset, args.data_dir)
    except ValidationError as e:
        print(f"{PROG}: error: {len(e.failures)} file(s) missed their bars (figures in {out}/manifest.json):",
              file=sys.stderr)
        for failure in e.failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print(f"Wrote {out}/manifest.json: every file within its bars")
    return 0


def report_main(argv: list[str]) -> int:
    from export.report import DEFAULT_BUDGET_PT, build_report

    parser = Parser(prog=f"{PROG} report", description="Benchmark the exported files and write report.md from "
                    "manifest.json and bench.json, without retraining.")
    parser.add_argument("artifacts", nargs="?", default="artifacts", help="folder written by export (default artifacts)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_PT,
                        help=f"largest accuracy drop, in points, the recommended file may cost (default {DEFAULT_BUDGET_PT})")
    parser.add_argument("--no-bench", action="store_true", help="reuse bench.json instead of benchmarking again")
    args = parser.parse_args(argv)
    if args.budget < 0:
        parser.error(f"argument --budget: expected points >= 0; got {args.budget}")
    _import_tensorflow_quietly()
    with quiet_stderr():  # LiteRT's delegate chatter; progress lines go to stdout
        path = build_report(args.artifacts, budget_pt=args.budget, bench=not args.no_bench)
    print(f"Wrote {path}")
    return 0


def _import_tensorflow_quietly() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_stderr():
        import tensorflow  # noqa: F401 (its C++ start-up lines go to /dev/null)


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "report":
        return report_main(argv[1:])
    return export_main(argv)


if __name__ == "__main__":
    from export.common import ExportError

    run(PROG, main, errors=(ExportError,))
