"""Benchmark: from raw images in class folders to having iterated once over every decoded example.

Three ways, each from scratch (fresh cache), medians of --repeats runs, measured in this process:
  covidct     the generic card builder (prepare to Arrow, then iterate decoding every image)
  imagefolder datasets.load_dataset("imagefolder", data_dir=...), then the same iteration
  bare        a loop that reads and decodes each file once (PIL), the floor

    python benchmarks/bench_load.py [--n 2000] [--size 512] [--format png] [--repeats 5]

Prints the medians and the ratios covidct/imagefolder (target <= 1) and covidct/bare (target <= 1.25).
No assertions: a script to run and read.
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


def make_images(root: Path, n: int, size: int, fmt: str) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    body = (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size * 0.42) ** 2).astype(np.float32)
    for i in range(n):
        cls = "covid" if i % 2 == 0 else "normal"
        noise = rng.normal(0, 18, (size, size))
        img = np.clip(body * (90 + 40 * np.sin(xx / (9 + i % 7)) + noise) + 20, 0, 255).astype(np.uint8)
        path = root / cls / f"{i:05d}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path, **({"quality": 92} if fmt == "jpg" else {}))


def card_for(fmt: str):
    name = "jpeg" if fmt == "jpg" else fmt
    return _synth.card(_synth.two_class_config(name, fmt, "image", {"intensity": "windowed-8bit"}))


def iterate(ds) -> int:
    n = 0
    for ex in ds:
        ex["image"].load()
        n += 1
    return n


def run_covidct(data: Path, cache: Path, fmt: str) -> int:
    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    ds = prepare(builder_for(card_for(fmt), data_dir=data, cache_dir=cache))["train"]
    return iterate(ds)


def run_imagefolder(data: Path, cache: Path, fmt: str) -> int:
    import datasets

    ds = datasets.load_dataset("imagefolder", data_dir=str(data), cache_dir=str(cache), split="train")
    return iterate(ds)


def run_bare(data: Path, cache: Path, fmt: str) -> int:
    from PIL import Image

    n = 0
    for p in sorted(data.rglob(f"*.{fmt}")):
        with open(p, "rb") as fh, Image.open(fh) as im:
            im.load()
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--format", choices=["png", "jpg"], default="png")
    ap.add_argument("--repeats", type=int, default=5)
    ns = ap.parse_args()
    import datasets

    datasets.disable_progress_bars()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="covidct-bench-") as tmp:
        root = Path(tmp)
        data = root / "data"
        t = time.perf_counter()
        make_images(data, ns.n, ns.size, ns.format)
        print(f"{ns.n} {ns.size}x{ns.size} {ns.format} images in class folders, made in {time.perf_counter() - t:.1f}s")
        times: dict[str, list[float]] = {"covidct": [], "imagefolder": [], "bare": []}
        runners = {"covidct": run_covidct, "imagefolder": run_imagefolder, "bare": run_bare}
        for r in range(ns.repeats):
            for name, fn in runners.items():  # interleaved, so drifts (page cache, CPU) hit every way alike
                cache = root / f"cache-{name}-{r}"
                t = time.perf_counter()
                count = fn(data, cache, ns.format)
                times[name].append(time.perf_counter() - t)
                assert count == ns.n, (name, count)
                shutil.rmtree(cache, ignore_errors=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        for k, v in med.items():
            print(f"{k:12s} median {v:7.3f}s  (runs: {', '.join(f'{x:.3f}' for x in times[k])})")
        print(f"ratio covidct/imagefolder = {med['covidct'] / med['imagefolder']:.2f}  (target <= 1.00)")
        print(f"ratio covidct/bare        = {med['covidct'] / med['bare']:.2f}  (target <= 1.25)")


if __name__ == "__main__":
    main()
