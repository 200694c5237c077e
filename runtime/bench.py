"""Latency and throughput measurements shared by `edgeport bench` and benchmarks/."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

# A file's single-image latency (the speed objective's figure): the median of this many calls, or of what
# fits in this many seconds.
LATENCY_CALLS, LATENCY_SECONDS = 100, 0.1


def time_calls(call: Callable[[], object], runs: int, warmup: int = 0) -> np.ndarray:
    """Seconds taken by each of `runs` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        call()
    samples = np.empty(runs)
    clock = time.perf_counter
    for i in range(runs):
        start = clock()
        call()
        samples[i] = clock() - start
    return samples


def summarize(samples: np.ndarray) -> dict:
    """p50 / p99 / mean in milliseconds."""
    ms = np.asarray(samples) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "runs": int(len(ms))}


def bench_predictor(predictor, images: np.ndarray, runs: int = 500, warmup: int = 50, batch_repeats: int = 3) -> dict:
    """Single-image latency (predict_one) and batch throughput (predict on all images) of one predictor."""
    single = summarize(time_calls(lambda: predictor.predict_one(images[0]), runs, warmup))
    batch = time_calls(lambda: predictor.predict(images), batch_repeats, warmup=1)
    seconds = float(np.median(batch))
    return {"single": single, "batch": {"images": int(len(images)), "seconds": seconds, "images_per_s": len(images) / seconds}}


def single_image_us(predictor, image, calls: int = LATENCY_CALLS,
                    seconds: float = LATENCY_SECONDS) -> float:
    """One image's latency through predict_one, the median of up to calls after warm-up, in microseconds
    (at most about seconds of calls: a slow file is timed fewer times)."""
    return single_image_timing(predictor, image, calls, seconds)[0]


def single_image_timing(predictor, image, calls: int = LATENCY_CALLS,
                        seconds: float = LATENCY_SECONDS) -> tuple[float, list]:
    """single_image_us's median and its 95 % interval [low, high], in microseconds (median_interval)."""
    for _ in range(3):
        predictor.predict_one(image)
    times, started = [], time.perf_counter()
    while len(times) < calls and (len(times) < 5 or time.perf_counter() - started < seconds):
        begin = time.perf_counter()
        predictor.predict_one(image)
        times.append(time.perf_counter() - begin)
    return round(float(np.median(times)) * 1e6, 1), [round(float(t) * 1e6, 1) for t in median_interval(times)]


def median_interval(samples) -> tuple[float, float]:
    """A distribution-free 95 % interval for the median of samples: the order statistics n/2 -/+ 1.96 sqrt(n)/2
    (the binomial's normal approximation), whatever the distribution of the times; [min, max] for few samples."""
    ordered = np.sort(np.asarray(samples, dtype=np.float64))
    count, half = len(ordered), 1.96 * np.sqrt(len(ordered)) / 2
    low, high = int(np.floor(count / 2 - half)), int(np.ceil(count / 2 + half)) - 1
    return float(ordered[max(low, 0)]), float(ordered[min(high, count - 1)])
