"""Latency and throughput of the Keras model and every exported file, side by side in one process.

Rows are measured in interleaved rounds (a block of calls per row, row after row, round after
round) so that the machine's drift hits every row alike; percentiles pool all rounds.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path
from typing import Callable

import numpy as np

from edgeport import runtime
from edgeport.export.loading import load_keras_model
from edgeport.export.pipeline import keras_model_path, package_versions
from edgeport.runtime.bench import summarize, time_calls
from edgeport.runtime.files import write_text_atomic
from edgeport.runtime.manifest import Manifest, validation_data

BENCH_NAME = "bench.json"
# Throughput is timed on this many validation images in one call: past a few hundred images a batch's time per
# image no longer changes, and every row's pass is repeated each round (on a small CNN, ten rows of 10,000 images
# for six passes were 66 of the report's 97 s).
BATCH_IMAGES = 2000


def _rows(folder: Path, manifest: Manifest, images: np.ndarray, output: str | None, custom_objects, model=None,
          trust_code: bool = False):
    """(name, file, single-image call, whole-set call, calls per round) for every row."""
    rows = []
    source = keras_model_path(folder, manifest, model)
    if source is not None:  # a model exported from elsewhere that has since moved gets no Keras rows
        model = load_keras_model(source, output or manifest.source.output, custom_objects,
                                 input_size=manifest.image_shape()[:2], trust_code=trust_code)
        preprocessing = manifest.info.preprocessing
        x = preprocessing.apply(images).reshape((-1, *model.input_shape[1:]))
        one = x[:1]
        rows += [
            # The seed tutorial's own single-image path, and the direct call it could have used.
            ("Keras model.predict", None, lambda: model.predict(one, verbose=0), lambda: model.predict(x, verbose=0), 4),
            ("Keras model(x)", None, lambda: model(one, training=False), lambda: model(x, training=False), 20),
        ]
    for name, entry in manifest.files.items():
        if entry.micro is not None:  # a microcontroller's file: its time in TFLM is in the manifest
            continue
        predictor = runtime.load(folder / name)
        rows.append((name, name, lambda p=predictor: p.predict_one(images[0]), lambda p=predictor: p.predict(images), 100))
    return rows


def run_benchmark(folder: str | os.PathLike, rounds: int = 5, warmup: int = 20, data=None,
                  progress: Callable[[str], None] | None = None, output: str | None = None,
                  custom_objects=(), model=None, trust_code: bool = False) -> dict:
    """Benchmark every row and write folder/bench.json.

    Args:
        folder: an export folder (manifest.json, the files, the Keras model).
        rounds: interleaved rounds; each round times a block of single-image calls per row
            and one pass over the first BATCH_IMAGES validation images per row (the median pass is kept).
        warmup: untimed single-image calls per row, plus one untimed pass, before round one.
        data: the Dataset to time on (default: the one the manifest was validated on).
        progress: called with one line per finished round and per row; None for silence.
        output: the Keras model's output to time (default: the one the manifest names).
        custom_objects: Python files defining the Keras model's custom classes (export.load_keras_model).
        model: the Keras model's path when it is not where export.keras_model_path looks.
        trust_code: run the Keras model's own code (export.load_keras_model).

    Returns:
        The bench dict: machine, versions, settings and one row per model/file with
        single-image p50/p99 (ms) and images/s.
    """
    say = progress or (lambda line: None)
    folder = Path(folder)
    manifest = runtime.read_manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"{folder}/manifest.json: nothing to benchmark (run 'edgeport export' first)")
    data = data or validation_data(manifest, validation_only=True)
    images = data.validation[1].images[:BATCH_IMAGES]
    rows = _rows(folder, manifest, images, output, custom_objects, model, trust_code)
    singles = {name: [] for name, *_ in rows}
    batches = {name: [] for name, *_ in rows}
    for _, _, single, batch, _ in rows:
        time_calls(single, 0, warmup)
        time_calls(batch, 0, 1)
    for r in range(rounds):
        for name, _, single, batch, calls in rows:
            singles[name].extend(time_calls(single, calls))
            batches[name].extend(time_calls(batch, 1))
        say(f"benchmark round {r + 1}/{rounds} done")
    result_rows = []
    for name, file, *_ in rows:
        seconds = float(np.median(batches[name]))
        row = {"name": name, "file": file, "single": summarize(np.array(singles[name])),
               "batch": {"images": int(len(images)), "seconds": seconds, "images_per_s": len(images) / seconds}}
        result_rows.append(row)
        say(f"{name:<22} single image p50 {row['single']['p50_ms']:8.3f} ms  p99 {row['single']['p99_ms']:8.3f} ms  "
            f"{row['batch']['images_per_s']:>12,.0f} images/s")
    bench = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "processor": platform.machine()},
        "versions": package_versions(),
        "settings": {"rounds": rounds, "warmup": warmup, "interleaved": True,
                     "single_image": "predict_one(test image 0) / model.predict(x[:1]) / model(x[:1])",
                     "batch": f"the first {len(images):,} validation images in one call"},
        "manifest_sha256": {name: entry.sha256 for name, entry in manifest.files.items()},
        "rows": result_rows,
    }
    write_text_atomic(folder / BENCH_NAME, json.dumps(bench, indent=1) + "\n")
    return bench
