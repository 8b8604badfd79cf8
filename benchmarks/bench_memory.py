"""Benchmark: peak memory while preparing many synthesized 512x512 16-bit slices.

Synthesizes --n slices (default 20,000) as 16-bit TIFFs (zlib, lossless; like COVID-CTset) or as
uncompressed DICOM CT slices (--format dicom: int16 Hounsfield arrays in the dataset), then prepares
them with the covidct builder in a child process and reports that child's peak RSS (ru_maxrss),
next to the peak RSS of a child that only imports the same libraries (the baseline).

    python benchmarks/bench_memory.py [--n 20000] [--format tiff|dicom] [--embed]

Target (issue 4): peak < 1 GB. No assertions.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD = r"""
import sys, warnings
warnings.simplefilter("ignore")
import datasets
from covidct.card.model import Card
from covidct.hf.builder import builder_for
from bench_memory import bench_card
datasets.disable_progress_bars()
if sys.argv[1] == "baseline":
    import numpy, PIL.Image, tifffile, pydicom  # noqa: F401
    sys.exit(0)
fmt, data, cache, embed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
card = bench_card(fmt)
b = builder_for(card, data_dir=data, cache_dir=cache, embed=embed)
b.download_and_prepare()
print(b.as_dataset(split="train").num_rows)
"""


def bench_card(fmt: str) -> Any:  # a covidct Card (covidct is imported inside the children)
    """The card of the synthesized slices: ``p<patient>/<n>.<ext>``, 512x512 16-bit, one slice per example."""
    from covidct.card.model import Card

    return Card.model_validate({
        "id": "bench-mem", "name": "Bench", "summary": "s", "description": "d", "modality": ["CT"],
        "anatomy": ["chest"], "license": {"id": "CC0-1.0", "redistribution": "allowed"}, "access": {"kind": "open"},
        "last_reviewed": "2026-01-01",
        "configs": [{"name": "default", "tasks": ["image-classification"], "dimensionality": "2D", "example": "slice",
                     "image": {"formats": [fmt], "bit_depth": [16], "size": {"min": [512, 512], "max": [512, 512]},
                               "intensity": "raw-16bit" if fmt == "tiff" else "hounsfield"},
                     "layout": {"parts": {"patient": {"regex": "p[0-9]+"}, "n": {"regex": "[0-9]+", "type": "int"}},
                                "files": {"image": {"pattern": "{patient}/{n}." + ("tif" if fmt == "tiff" else "dcm"),
                                                    "format": fmt}},
                                "patient": {"part": "patient"}}}],
    })


def synthesize(root: Path, n: int, fmt: str) -> None:
    import numpy as np

    yy, xx = np.mgrid[0:512, 0:512]
    base = ((yy * 7 + xx * 3) % 4000).astype(np.uint16)
    if fmt == "tiff":
        import tifffile

        for i in range(n):
            p = root / f"p{i // 200}" / f"{i % 200}.tif"
            p.parent.mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(p, base + (i % 97), compression="zlib")
        return
    from bench_readers import ct_dicom  # the same synthesized CT slice as the readers benchmark

    for i in range(n):
        p = root / f"p{i // 200}" / f"{i % 200}.dcm"
        p.parent.mkdir(parents=True, exist_ok=True)
        ct_dicom(p, ((base + (i % 97)) % 4096).astype(np.uint16))


def child_peak(args: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False,
                         cwd=Path(__file__).resolve().parent)  # the child imports bench_card from here
    took = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux; max over children so far
    return max(peak, before) / 1024, took, out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--format", choices=["tiff", "dicom"], default="tiff")
    ap.add_argument("--embed", action="store_true", help="copy image bytes into the Arrow cache")
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="covidct-mem-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        synthesize(root / "data", ns.n, ns.format)
        print(f"{ns.n} synthesized 512x512 16-bit {ns.format} slices in {time.perf_counter() - t:.0f}s")
        base, _, _ = child_peak(["baseline"])  # the first child: its peak is the baseline alone
        peak, took, rows = child_peak([ns.format, str(root / "data"), str(root / "cache"), "1" if ns.embed else "0"])
        print(f"baseline (imports only) peak RSS {base:7.0f} MiB")
        print(f"prepare {rows} examples   peak RSS {peak:7.0f} MiB in {took:.0f}s  (target < 1024 MiB)")
        print(f"ratio peak/baseline = {peak / base:.2f}")


if __name__ == "__main__":
    main()
