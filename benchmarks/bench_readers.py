"""Benchmark: covidct.readers.read against a bare loop over the library underneath, per format.

For each format the same files are decoded by both, interleaved file by file (bare then covidct, then
the other way round on the next pass) so that load on the machine hits both alike; the figures are
medians over every file and pass, and the ratio is the median of the per-file ratios (target <= 1.25).

    python benchmarks/bench_readers.py [--n 200] [--repeats 5]

The bare loops: np.asarray(PIL.Image.open(p)); tifffile.imread(p); pydicom.dcmread(p).pixel_array
rescaled to int16; np.asanyarray(nibabel.load(p).dataobj).T. The COVID-CT-MD line (JPEG Lossless)
runs when ../shared/samples is present. No assertions: a script to run and read.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from _synth import ct_base, ct_dicom

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"


def make(kind: str, n: int, tmp: Path) -> list[Path]:
    import numpy as np
    import tifffile
    from PIL import Image

    base = ct_base()
    out = []
    for i in range(n):
        arr = np.roll(base, i, axis=0)
        if kind == "png8":
            p = tmp / f"{kind}_{i}.png"
            Image.fromarray((arr >> 4).astype(np.uint8)).save(p)
        elif kind == "png16":
            p = tmp / f"{kind}_{i}.png"
            Image.fromarray(arr).save(p)
        elif kind == "jpeg":
            p = tmp / f"{kind}_{i}.jpg"
            Image.fromarray((arr >> 4).astype(np.uint8)).save(p, quality=95)
        elif kind == "tiff16":
            p = tmp / f"{kind}_{i}.tif"
            tifffile.imwrite(p, arr)
        else:
            p = ct_dicom(tmp / f"{kind}_{i}.dcm", arr)
        out.append(p)
    return out


def bench(label: str, paths: list[Path], bare, ours, repeats: int) -> None:
    tb, to, ratios = [], [], []
    clock = time.perf_counter
    for r in range(repeats):
        for p in paths:
            times = {}
            for name, fn in (("bare", bare), ("ours", ours)) if r % 2 == 0 else (("ours", ours), ("bare", bare)):
                t = clock()
                fn(p)
                times[name] = clock() - t
            tb.append(times["bare"])
            to.append(times["ours"])
            ratios.append(times["ours"] / times["bare"])
    print(f"{label:44s} bare {statistics.median(tb) * 1e3:8.3f} ms  covidct {statistics.median(to) * 1e3:8.3f} ms"
          f"  ratio {statistics.median(ratios):5.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="files per format")
    ap.add_argument("--repeats", type=int, default=5)
    ns = ap.parse_args()

    import nibabel as nib
    import numpy as np
    import pydicom
    import tifffile
    from PIL import Image

    from covidct.readers import read

    warnings.simplefilter("ignore")

    def pil(p):
        return np.asarray(Image.open(p))

    def dcm(p):
        ds = pydicom.dcmread(p)
        return ds.pixel_array.astype(np.int16) * int(ds.RescaleSlope) + np.int16(int(ds.RescaleIntercept))

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        bench("PNG 8-bit 512x512 (Pillow)", make("png8", ns.n, tmp), pil, read, ns.repeats)
        bench("PNG 16-bit 512x512 (Pillow)", make("png16", ns.n, tmp), pil, read, ns.repeats)
        bench("JPEG 512x512 (Pillow)", make("jpeg", ns.n, tmp), pil, read, ns.repeats)
        tiffs = make("tiff16", ns.n, tmp)
        bench("TIFF 16-bit 512x512 (tifffile)", tiffs, tifffile.imread, read, ns.repeats)
        bench("TIFF 16-bit 512x512, format given", tiffs, tifffile.imread, lambda p: read(p, "tiff"), ns.repeats)
        bench("DICOM CT 512x512 uncompressed (pydicom)", make("dicom", ns.n, tmp), dcm, read, ns.repeats)
        real = sorted((SAMPLES / "covid-ct-md" / "COVID-19 subjects" / "P002").glob("*.dcm"))
        if real:
            bench("DICOM JPEG Lossless, COVID-CT-MD (pydicom)", real[: min(ns.n, 60)], dcm, read, ns.repeats)
        vol = tmp / "v.nii.gz"
        slab = (np.random.default_rng(1).normal(0, 1, (512, 512)).cumsum(0).cumsum(1) % 4096).astype(np.int16)
        nib.save(nib.Nifti1Image(np.stack([slab - 1024] * 64, -1), np.eye(4)), vol)
        bench("NIfTI 512x512x64 int16 .nii.gz (nibabel)", [vol] * 3, lambda p: np.asanyarray(nib.load(p).dataobj).T,
              read, ns.repeats)


if __name__ == "__main__":
    main()
