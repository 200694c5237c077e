"""`score` against the picture decoder itself, side by side in one run; what a picture costs; memory at 1M.

    python benchmarks/bench_score.py artifacts/model_int8.tflite [--pictures 20000] [--rounds 3] [--million 1000000]
        [--row-groups 200000]

On a folder of Fashion-MNIST PNGs (kept in --work between runs), each round measures in turn:

- bare: one core that only decodes each PNG with Pillow (open, pixels as a numpy array), no model;
- score with --workers 1, and with the default (every CPU this process may use);
- the whole `edgeport score` command with default options, start-up, import and folder listing
  included (its images over its wall time).

Ratios are to the bare loop of the same round; medians over the rounds are quoted (the machine is
shared and noisy). Then --ray local once (Ray's start-up excluded, as score_on_ray reports it), the
cost of decoding and fitting one picture, and with --million: the peak memory of scoring that many
pictures (a Parquet store of PNG rows) with the default workers, the parent's and the largest
worker's, and of the same number of images from an .npz in one process. With --row-groups: the same
peaks and wall times for that many pictures stored one per row group, beside the same rows in one group.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgeport.runtime.bench import time_calls


def pictures(folder: Path, count: int) -> Path:
    """count Fashion-MNIST training images as PNG files (kept between runs)."""
    from PIL import Image

    from edgeport import runtime

    if len(list(folder.glob("*.png"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    images, _ = runtime.load_fashion_mnist("train")
    for i in range(count):
        Image.fromarray(images[i % len(images)]).save(folder / f"{i:07d}.png")
    return folder


def bare_decode(paths: list[str]) -> float:
    """Images per second of a single-core loop that only decodes each picture."""
    from PIL import Image

    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as picture:
            np.asarray(picture)
    return len(paths) / (time.perf_counter() - started)


def whole_command(model: str, folder: Path, out: Path, count: int) -> float:
    """Images per second of `edgeport score` with default options, over the process's whole wall time."""
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("edgeport")), "score", model, str(folder), "--out", str(out)],
                   check=True, capture_output=True)
    return count / (time.perf_counter() - started)


def picture_costs(model: str, folder: Path) -> dict:
    """Microseconds to decode one picture and to fit it, for pictures already at the model's size and not."""
    from PIL import Image

    from edgeport import runtime
    from edgeport.runtime.images import decode_picture, fit_pictures

    predictor = runtime.load(model)
    shape, background = predictor.image_shape, predictor.background
    paths = sorted(str(p) for p in folder.glob("*.png"))[:2000]
    decoded = [decode_picture(p, shape[2]) for p in paths]
    larger = [np.asarray(Image.fromarray(d[..., 0]).resize((64, 64)))[..., None] for d in decoded[:500]]
    photo = np.asarray(Image.fromarray(decoded[0][..., 0]).resize((1024, 1024)))[..., None]

    def each(call, items) -> float:
        return float(np.median(time_calls(call, 5, warmup=1))) / len(items) * 1e6

    return {
        "decode_us": each(lambda: [decode_picture(p, shape[2]) for p in paths], paths),
        "bare_decode_us": each(lambda: [np.asarray(Image.open(p)) for p in paths], paths),
        "fit_at_model_size_us": each(lambda: fit_pictures(decoded, shape, background), decoded),
        "fit_64x64_us": each(lambda: fit_pictures(larger, shape, background), larger),
        "fit_1024x1024_us": each(lambda: fit_pictures([photo], shape, background), [photo]),
        "background": background,
    }


def million_pictures(folder: Path, path: Path, count: int) -> Path:
    """A Parquet store of count PNG rows (the folder's pictures, repeated), written a row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists() and pq.ParquetFile(path).metadata.num_rows == count:
        return path
    encoded = [p.read_bytes() for p in sorted(folder.glob("*.png"))]
    with pq.ParquetWriter(path, pa.schema([("image", pa.binary())])) as writer:
        for start in range(0, count, len(encoded)):
            writer.write_table(pa.table({"image": encoded[: min(len(encoded), count - start)]}))
    return path


def grouped_pictures(folder: Path, path: Path, count: int, group_rows: int) -> Path:
    """A Parquet file of count PNG rows (the folder's pictures, repeated) in row groups of group_rows rows, without
    column statistics: with them, each group's footer entry holds its smallest and largest picture (200,000
    one-row groups: a 219 MB footer, which score refuses)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    encoded = [p.read_bytes() for p in sorted(folder.glob("*.png"))]
    rows = pa.array([encoded[i % len(encoded)] for i in range(count)], pa.binary())
    pq.write_table(pa.table({"image": rows}), path, row_group_size=group_rows, write_statistics=False)
    return path


def synthetic_npz(path: Path, count: int) -> Path:
    """An .npz of count test images (repeated) with x and y, written member by member, chunk by chunk."""
    import zipfile

    from edgeport import runtime

    images, labels = runtime.load_fashion_mnist("test")
    with zipfile.ZipFile(path, "w") as archive:  # stored, as np.savez writes it
        for name, array in (("x", images), ("y", labels.astype(np.int64))):
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False,
                          "shape": (count, *array.shape[1:])}
                np.lib.format.write_array_header_1_0(member, header)
                for start in range(0, count, len(array)):
                    member.write(array[: min(len(array), count - start)].tobytes())
    return path


# Scores in a fresh process: the parent's peak RSS from VmHWM (ru_maxrss would carry the benchmark's
# own over fork and exec) and the largest worker's from RUSAGE_CHILDREN.
PEAK = ("import json, resource, sys\nfrom edgeport import runtime\n"
        "s = runtime.score(sys.argv[1], sys.argv[2], sys.argv[3])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "s['parent_peak_mb'] = int(hwm) / 1024\n"
        "s['worker_peak_mb'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps(s))\n")


def peak_memory(model: str, data: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PEAK, model, str(data), str(out)], capture_output=True, text=True,
                          check=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"images": summary["images"], "workers": summary["workers"], "data_mb": round(data.stat().st_size / 2**20, 1),
            "parent_peak_mb": round(summary["parent_peak_mb"], 1),
            "worker_peak_mb": round(summary["worker_peak_mb"], 1) if summary["workers"] > 1 else None,
            "images_per_second": summary["images_per_second"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--pictures", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--million", type=int, default=1_000_000, help="images in the memory runs (0: skip)")
    parser.add_argument("--row-groups", type=int, default=0, help="pictures stored one per row group (0: skip)")
    parser.add_argument("--work", default=None, help="folder for the pictures and outputs (default: a temp folder)")
    args = parser.parse_args()
    from edgeport import runtime
    from edgeport.scale import score_on_ray

    work = Path(args.work or tempfile.mkdtemp(prefix="edgeport-bench-score-"))
    folder = pictures(work / "pictures", args.pictures)
    paths = sorted(str(p) for p in folder.glob("*.png"))
    predictor = runtime.load(args.model)
    cpus = len(os.sched_getaffinity(0))
    rounds = {"bare": [], "workers_1": [], f"workers_{cpus}": [], "command": []}
    for _ in range(args.rounds):
        rounds["bare"].append(bare_decode(paths))
        rounds["workers_1"].append(runtime.score(predictor, folder, work / "one.parquet", workers=1)["images_per_second"])
        summary = runtime.score(predictor, folder, work / "all.parquet")
        rounds[f"workers_{cpus}"].append(summary["images_per_second"])
        rounds["command"].append(whole_command(args.model, folder, work / "command.parquet", len(paths)))
    bare = np.array(rounds["bare"])
    results = {"pictures": len(paths), "model": args.model, "cpus": cpus, "default_workers": summary["workers"],
               "images_per_second": {k: round(float(np.median(v))) for k, v in rounds.items()},
               "ratio_to_bare": {k: round(float(np.median(np.array(v) / bare)), 2) for k, v in rounds.items()}}
    ray = score_on_ray(args.model, folder, work / "ray.parquet")
    results["images_per_second"]["ray_local"] = ray["images_per_second"]
    results["ratio_to_bare"]["ray_local"] = round(ray["images_per_second"] / float(np.median(bare)), 2)
    results["ray_local_actors"] = ray["ray"]["actors"]
    results["per_picture"] = picture_costs(args.model, folder)
    if args.million:
        results["memory_pictures"] = peak_memory(args.model, million_pictures(folder, work / "million.parquet",
                                                                              args.million), work / "m1.parquet")
        results["memory_arrays"] = peak_memory(args.model, synthetic_npz(work / "million.npz", args.million),
                                               work / "m2.parquet")
    if args.row_groups:
        for name, group_rows in (("one_row_groups", 1), ("one_group", args.row_groups)):
            data = grouped_pictures(folder, work / f"{name}.parquet", args.row_groups, group_rows)
            started = time.perf_counter()
            results[name] = peak_memory(args.model, data, work / f"{name}.out.parquet")
            results[name]["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
