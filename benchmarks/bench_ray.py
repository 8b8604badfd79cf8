"""Benchmark: Ray Data on a local instance (2 CPUs) against covidct.load_dataset(num_proc=2), same DICOM slices.

Synthesized CT slices (512x512, 16-bit stored, rescaled to int16 HU) in two class folders; each way
goes from the files to having iterated once over every example with its pixels decoded as a NumPy
array, from scratch (a fresh cache for load_dataset), medians of --repeats runs, interleaved:
  load_dataset  covidct.load_dataset(card, data_dir=..., num_proc=2), then ds.with_format("numpy")
  ray           covidct.ray.read_dataset(card, data_dir=...) on ray.init(num_cpus=2), then iter_rows()

Ray's start (ray.init) is not timed, nor is a first untimed Ray run that starts its worker processes:
on a cluster both are paid once, not per dataset.

    python benchmarks/bench_ray.py [--n 400] [--repeats 3]

Prints the medians and the ratio ray/load_dataset (target <= 1.3). No assertions: a script to run and read.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import _synth


def card():
    return _synth.card(_synth.two_class_config("dicom", "dcm", "slice", {
        "intensity": "stored-with-rescale", "size": {"min": [512, 512], "max": [512, 512]}}), id="bench-ray")


def run_load_dataset(data: Path, cache: Path) -> int:
    import covidct

    ds = covidct.load_dataset(card(), data_dir=data, cache_dir=cache, num_proc=2, split="train")
    n = 0
    for row in ds.with_format("numpy"):
        assert row["image"].shape == (512, 512)
        n += 1
    return n


def run_ray(data: Path, cache: Path) -> int:
    import covidct.ray

    n = 0
    for row in covidct.ray.read_dataset(card(), data_dir=data, split="train").iter_rows():
        assert row["image"].shape == (512, 512)
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ns = ap.parse_args()
    import datasets
    import ray

    datasets.disable_progress_bars()
    warnings.simplefilter("ignore")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        with tempfile.TemporaryDirectory(prefix="covidct-bench-") as tmp:
            root = Path(tmp)
            data = root / "data"
            t = time.perf_counter()
            _synth.class_slices(data, ns.n)
            print(f"{ns.n} DICOM slices 512x512 in class folders, made in {time.perf_counter() - t:.1f}s")
            t = time.perf_counter()
            run_ray(data, root)
            print(f"first (untimed) Ray run, workers starting: {time.perf_counter() - t:.1f}s")
            runners = {"load_dataset": run_load_dataset, "ray": run_ray}
            times: dict[str, list[float]] = {k: [] for k in runners}
            for r in range(ns.repeats):
                for name, fn in runners.items():  # interleaved, so drifts (page cache, CPU) hit both alike
                    cache = root / f"cache-{name}-{r}"
                    t = time.perf_counter()
                    count = fn(data, cache)
                    times[name].append(time.perf_counter() - t)
                    assert count == ns.n, (name, count)
                    shutil.rmtree(cache, ignore_errors=True)
            med = {k: statistics.median(v) for k, v in times.items()}
            for k, v in med.items():
                print(f"{k:12s} median {v:7.3f}s  (runs: {', '.join(f'{x:.3f}' for x in times[k])})")
            print(f"ratio ray/load_dataset = {med['ray'] / med['load_dataset']:.2f}  (target <= 1.30)")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
