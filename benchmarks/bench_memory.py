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

CHILD = r"""
import sys, warnings
warnings.simplefilter("ignore")
import datasets
from covidct.hf.builder import builder_for
from _synth import patient_slices_card
datasets.disable_progress_bars()
if sys.argv[1] == "baseline":
    import numpy, PIL.Image, tifffile, pydicom  # noqa: F401
    sys.exit(0)
fmt, data, cache, embed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
card = patient_slices_card(fmt)
b = builder_for(card, data_dir=data, cache_dir=cache, embed=embed)
b.download_and_prepare()
print(b.as_dataset(split="train").num_rows)
"""


def child_peak(args: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False,
                         cwd=Path(__file__).resolve().parent)  # the child imports _synth from here
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
    from _synth import patient_slices

    with tempfile.TemporaryDirectory(prefix="covidct-mem-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        patient_slices(root / "data", ns.n, ns.format)
        print(f"{ns.n} synthesized 512x512 16-bit {ns.format} slices in {time.perf_counter() - t:.0f}s")
        base, _, _ = child_peak(["baseline"])  # the first child: its peak is the baseline alone
        peak, took, rows = child_peak([ns.format, str(root / "data"), str(root / "cache"), "1" if ns.embed else "0"])
        print(f"baseline (imports only) peak RSS {base:7.0f} MiB")
        print(f"prepare {rows} examples   peak RSS {peak:7.0f} MiB in {took:.0f}s  (target < 1024 MiB)")
        print(f"ratio peak/baseline = {peak / base:.2f}")


if __name__ == "__main__":
    main()
