"""The web page's speed in Debian's chromium against the Python runtime, side by side in one run.

For each ONNX file: the page's time to `edgeport.ready` (engine and model loaded), the batch
throughput of `edgeport.predict` on the test images, and the mean single-image latency over
300 calls one after another, both timed inside the page (performance.now, whose resolution a
page that is not cross-origin isolated coarsens to 0.1 ms: hence a mean over many calls, not a
median of single ones), so the transfer from Playwright is not counted.
The Python runtime is timed on the same images in this process, one thread, like the page.

    .venv/bin/python benchmarks/bench_web.py artifacts [model.onnx model_int8.onnx ...]
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from edgeport import runtime
from edgeport.web import serve, write_page

SINGLE_RUNS = 300

TIMING = """async ([data, n, single]) => {
  const pixels = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const size = pixels.length / n;
  await edgeport.predict(pixels.subarray(0, size * 10), 10);  // warm-up
  let started = performance.now();
  await edgeport.predict(pixels, n);
  const batch = performance.now() - started;
  started = performance.now();
  for (let i = 0; i < single; i++) await edgeport.predict(pixels.subarray((i % n) * size, (i % n + 1) * size), 1);
  return { batch_ms: batch, single_ms: (performance.now() - started) / single };
}"""


def python_timing(path: Path, images: np.ndarray) -> dict:
    predictor = runtime.load(path, threads=1)
    predictor.predict(images[:10])
    started = time.perf_counter()
    predictor.predict(images)
    batch = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(SINGLE_RUNS):
        predictor.predict(images[i % len(images)])
    return {"batch_ms": 1000 * batch, "single_ms": 1000 * (time.perf_counter() - started) / SINGLE_RUNS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("artifacts", type=Path)
    parser.add_argument("files", nargs="*", default=["model.onnx", "model_int8.onnx"])
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    images = runtime.load_fashion_mnist("test")[0][: args.images]
    encoded = base64.b64encode(images.tobytes()).decode()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ.get("EDGEPORT_CHROMIUM", "/usr/bin/chromium"),
                                             args=["--no-sandbox"])
        for name in args.files:
            folder = Path(tmp) / Path(name).stem
            write_page(args.artifacts / name, folder)
            server = serve(folder, 0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
            page.evaluate("edgeport.ready")
            ready_ms = 1000 * (time.perf_counter() - started)
            web = page.evaluate(TIMING, [encoded, len(images), SINGLE_RUNS])
            python = python_timing(args.artifacts / name, images)
            rows.append((name, ready_ms, web, python))
            page.close()
            server.shutdown()
            server.server_close()
        browser.close()
    print(f"{len(images):,} test images; single image: mean of {SINGLE_RUNS} calls; one thread on both sides")
    print(f"{'file':<18} {'page ready':>10} {'web img/s':>10} {'py img/s':>10} {'web 1 img':>10} {'py 1 img':>10} "
          f"{'web/py':>6}")
    for name, ready_ms, web, python in rows:
        web_rate, py_rate = len(images) / web["batch_ms"] * 1000, len(images) / python["batch_ms"] * 1000
        print(f"{name:<18} {ready_ms:8.0f} ms {web_rate:10,.0f} {py_rate:10,.0f} {web['single_ms']:7.3f} ms "
              f"{python['single_ms']:7.3f} ms {web['single_ms'] / python['single_ms']:5.1f}x")


if __name__ == "__main__":
    main()
