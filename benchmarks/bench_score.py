"""Images per second of `score` on a folder of pictures: one process, Ray local with 1 and 2 actors;
and the peak memory of the one-process path on a synthetic 1M-image .npz.

    python benchmarks/bench_score.py artifacts/model_int8.tflite [--pictures 60000] [--million 1000000]

The three throughput runs read the same folder side by side in one run (the machine is shared
and noisy); Ray's figures exclude its start-up, which is reported separately. The memory run is
a fresh process, so its peak RSS (ru_maxrss) is the scorer's own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


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


def peak_memory(model: str, count: int, work: Path) -> dict:
    """Score a synthetic count-image .npz in a fresh process; its peak RSS (VmHWM) and throughput."""
    path = synthetic_npz(work / "million.npz", count)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
    script = ("import json, sys\nfrom edgeport import runtime\n"
              "s = runtime.score(sys.argv[1], sys.argv[2], sys.argv[3])\n"
              "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
              "s['peak_rss_mb'] = int(hwm) / 1024\nprint(json.dumps(s))\n")
    done = subprocess.run([sys.executable, "-c", script, model, str(path), str(work / "million.parquet")],
                          capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"images": summary["images"], "npz_mb": round(path.stat().st_size / 2**20, 1),
            "peak_rss_mb": round(summary["peak_rss_mb"], 1), "images_per_second": summary["images_per_second"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--pictures", type=int, default=60_000)
    parser.add_argument("--million", type=int, default=1_000_000, help="images in the memory run (0: skip)")
    parser.add_argument("--work", default=None, help="folder for the pictures and outputs (default: a temp folder)")
    args = parser.parse_args()
    from edgeport import runtime
    from edgeport.scale import score_on_ray

    work = Path(args.work or tempfile.mkdtemp(prefix="edgeport-bench-score-"))
    folder = pictures(work / "pictures", args.pictures)
    results = {"pictures": args.pictures, "model": args.model}
    results["one_process"] = runtime.score(args.model, folder, work / "one.parquet")["images_per_second"]
    for actors in (1, 2):
        started = time.perf_counter()
        summary = score_on_ray(args.model, folder, work / f"ray{actors}.parquet", actors=actors)
        results[f"ray_{actors}_actor"] = summary["images_per_second"]
        results[f"ray_{actors}_actor_wall_s"] = round(time.perf_counter() - started, 1)
    results["ray_2_vs_1"] = round(results["ray_2_actor"] / results["ray_1_actor"], 2)
    if args.million:
        results["memory"] = peak_memory(args.model, args.million, work)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
