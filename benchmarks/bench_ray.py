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


def make_slices(root: Path, n: int) -> None:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(0)
    base = (rng.normal(0, 1, (512, 512)).cumsum(0).cumsum(1) % 4096).astype(np.uint16)
    for i in range(n):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = CTImageStorage, meta.MediaStorageSOPInstanceUID, "CT"
        ds.Rows, ds.Columns = 512, 512
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelSpacing = [0.7, 0.7]
        ds.PixelData = np.roll(base, i, axis=0).tobytes()
        path = root / ("covid" if i % 2 == 0 else "normal") / f"{i:05d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)


def card():
    from covidct.card.model import Card

    return Card.model_validate({
        "id": "bench-ray", "name": "Bench", "summary": "benchmark", "description": "benchmark",
        "modality": ["CT"], "anatomy": ["chest"], "license": {"id": "CC0-1.0", "redistribution": "allowed"},
        "access": {"kind": "open"}, "last_reviewed": "2026-01-01",
        "configs": [{
            "name": "default", "tasks": ["image-classification"], "dimensionality": "2D", "example": "slice",
            "labels": [{"name": "label", "kind": "class", "granularity": "image", "source": ["unknown"],
                        "classes": [{"name": "covid", "value": 0}, {"name": "normal", "value": 1}]}],
            "image": {"formats": ["dicom"], "intensity": "stored-with-rescale",
                      "size": {"min": [512, 512], "max": [512, 512]}},
            "layout": {"parts": {"cls": {"regex": "covid|normal"}, "name": {"regex": "[^/]+"}},
                       "files": {"image": {"pattern": "{cls}/{name}.dcm", "format": "dicom"}},
                       "labels": {"label": {"part": "cls"}}},
        }],
    })


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
            make_slices(data, ns.n)
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
