"""score: predict a whole data set to Parquet, in this process or on Ray (base install, plus pyarrow / Ray)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from edgeport.command import (
    EXIT_FAILED,
    EXIT_USAGE,
    CommandError,
    add_command,
    add_trust,
    open_model,
    positive_int,
    quiet_stderr,
)
from edgeport.runtime.errors import MissingExtraError


def register(commands) -> None:
    """Add `edgeport score` to the parser."""
    score = add_command(
        commands, "score", run_score, "predict a whole data set to Parquet, here or on a Ray cluster",
        "Predict every image of a folder of pictures (searched recursively; class sub-folders give true "
        "labels), an .npz / .npy array file, or a Parquet data set with encoded image bytes in a column "
        "'image' (optional 'label', 'path'), and write one Parquet row per image: index, path, class_index, "
        "class_name, confidence, the top classes, true_class_index and error. The data are streamed in chunks, "
        "so memory stays bounded; a picture that cannot be read is a row with an error. --ray runs the "
        "same job on Ray Data, on an actor pool where each actor loads the model once.",
        "edgeport score artifacts/model_int8.tflite test.npz --out scores.parquet",
        "edgeport score artifacts/model_int8.onnx photos/ --out photos.parquet --ray local",
        "edgeport score model_int8.onnx s3-mount/images.parquet --out scores.parquet --ray ray://head:10001")
    score.add_argument("model", help="a .tflite or .onnx file (manifest.json beside it is checked)")
    score.add_argument("data", help="a folder of pictures, an .npz / .npy file, or a .parquet file or folder")
    score.add_argument("--out", required=True, help="the .parquet file to write")
    score.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                       help="run on Ray Data: 'local' (the default when the flag is bare) starts a cluster on "
                            "this machine; else a cluster address such as ray://head:10001 or auto")
    score.add_argument("--actors", type=positive_int, default=None,
                       help="with --ray: actors in the pool (default: the cluster's CPUs)")
    score.add_argument("--batch-size", type=positive_int, default=1000, help="images per chunk")
    score.add_argument("--top", type=positive_int, default=None,
                       help="classes listed per row (default: 3, or every class of a model with fewer)")
    score.add_argument("--workers", type=positive_int, default=None,
                       help="processes that decode and predict pictures (default: every CPU this process may use; "
                            "1: all in this process); arrays are scored in this process")
    score.add_argument("--threads", type=positive_int, default=None,
                       help="engine threads (default: the engine's choice in one process, 1 per worker)")
    score.add_argument("--no-verify", action="store_true", help="skip the sha256 check against manifest.json")
    score.add_argument("--json", action="store_true", help="print the summary as JSON")
    score.add_argument("--verbose", action="store_true", help="let Ray's start-up and progress lines through")
    add_trust(score)


def run_score(args) -> int:
    if args.actors is not None and args.ray is None:
        raise CommandError("--actors needs --ray", exit_code=EXIT_USAGE)
    if args.workers is not None and args.ray is not None:
        raise CommandError("--workers is for one machine; with --ray, --actors sets the pool", exit_code=EXIT_USAGE)
    try:
        importlib.import_module("pyarrow")  # the output is Parquet
    except ImportError:
        raise MissingExtraError("needs pyarrow", "score") from None
    # Loaded (and with --trust, verified) here, before any worker or cluster starts; they run these bytes.
    predictor = open_model(args, args.threads if args.ray is None else None).predictor
    if args.ray is None:
        from edgeport import runtime

        summary = runtime.score(predictor, args.data, args.out, batch_size=args.batch_size, top=args.top,
                                threads=args.threads, workers=args.workers)
    else:
        from edgeport.scale import ScaleError, score_on_ray

        try:
            if args.verbose:
                summary = _on_ray(args, predictor, score_on_ray)
            else:
                with quiet_stderr(keep_warnings=False):  # Ray: C++ core lines, deprecation warnings
                    summary = _on_ray(args, predictor, score_on_ray)
        except ScaleError as e:
            if isinstance(e, MissingExtraError):
                raise  # a usage error, said by the command line like every missing extra
            raise CommandError(str(e), exit_code=EXIT_FAILED) from None
    if args.json:
        print(json.dumps(summary))
        return 0
    accuracy = "" if summary["accuracy"] is None else \
        f", accuracy {summary['accuracy']:.4f} on {summary['labelled']:,} labelled"
    if "ray" in summary:
        where = f" on Ray ({summary['ray']['actors']} actors, {summary['ray']['nodes']} node(s))"
    else:
        where = "" if summary["workers"] == 1 else f" with {summary['workers']} workers"
    print(f"Scored {summary['images']:,} images{where}: {summary['errors']:,} errors{accuracy}, "
          f"{summary['images_per_second']:,.0f} images/s. Wrote {Path(summary['out'])}")
    return 0


def _on_ray(args, predictor, score_on_ray) -> dict:
    return score_on_ray(predictor, args.data, args.out, address=args.ray, batch_size=args.batch_size,
                        top=args.top, actors=args.actors, verify=not args.no_verify, verbose=args.verbose)
