"""Detection benchmark for `covidct overlaps --manifest`: are copies found, and distinct images left alone?

Originals: the real COVID-CT-MD slices of ../shared/samples (P002 complete, 4 slices of normal002) and
N synthetic chest CT slices (benchmarks/ctphantom.py: one patient and level per seed), all written as
16-bit DICOM in Hounsfield units. Copies, each in a second folder under a new name:

  windowed   the slice exported to an 8-bit PNG with the lung window (centre -600, width 1500)
  re-encoded that PNG re-encoded as JPEG, quality 75
  resized    that PNG resized to half (Lanczos)
  cropped    that PNG cropped by 5% of its width and height (split at random between the sides)
  renamed    the DICOM file itself under another name
  other-window (information only) an 8-bit PNG with another lung window (-600/1200, -500/1400, -700/1400,
             -550/1600)

Both folders are fingerprinted with the real code (`covidct fingerprint --folder`) and compared with the
real search (`find_overlaps`, at the largest --near); every threshold K up to it is then scored from the
distances. A copy is found when any record (file, pixels, near, uid) links it to its original; a false
pair is a record linking a copy to another original. Slices of one real scan lie 2 mm apart and look
alike, so false pairs inside one scan are counted apart from those between different scans/patients.

``--half even|odd`` keeps only the originals whose number is even or odd (the real slices by the number
in their file name, IM0001 → 1; the phantoms by their seed): tune on one half, report both.

    python benchmarks/bench_detection.py [--phantoms 500] [--half even|odd] [--samples DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ctphantom import slice_hu

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "covid-ct-md"
VARIANTS = ("windowed", "re-encoded", "resized", "cropped", "renamed", "other-window")
REQUIRED = {"windowed": 0.99, "re-encoded": 0.99, "resized": 0.95, "cropped": 0.95, "renamed": 0.99}
OTHER_WINDOWS = [(-600, 1200), (-500, 1400), (-700, 1400), (-550, 1600)]


def write_dicom(path: Path, hu: np.ndarray, patient: str, sop: str, series: str) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = series + ".1", series
    ds.PatientID, ds.Modality = patient, "CT"
    ds.Rows, ds.Columns = hu.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.PixelData = (hu.astype(np.int32) + 1024).astype("<i2").tobytes()
    ds.save_as(path, enforce_file_format=True)


def window(hu: np.ndarray, centre: float = -600, width: float = 1500) -> np.ndarray:
    lo = centre - width / 2
    return np.clip((hu.astype(np.float32) - lo) * (255.0 / width), 0, 255).round().astype(np.uint8)


def build(work: Path, n_phantoms: int, seed: int = 7, samples: Path = SAMPLES,
          half: str | None = None) -> tuple[list[str], list[str], dict[str, tuple[int, str]]]:
    """Write the originals and copies; returns original names, their scan ids, and copy name → (original, variant).
    A folder built before for the same number of phantoms and half is reused (truth.json)."""
    import json

    saved = work / "truth.json"
    if saved.is_file():
        t = json.loads(saved.read_text())
        if t["phantoms"] == n_phantoms and t.get("half") == half:
            return t["names"], t["scans"], {k: tuple(v) for k, v in t["truth"].items()}
    names, scans, truth = _build(work, n_phantoms, seed, samples, half)
    saved.write_text(json.dumps({"phantoms": n_phantoms, "half": half, "names": names, "scans": scans,
                                 "truth": truth}))
    return names, scans, truth


def in_half(number: int, half: str | None) -> bool:
    """Whether an original numbered ``number`` (a real slice's file number, a phantom's seed) is in ``half``."""
    return half is None or number % 2 == (0 if half == "even" else 1)


def _build(work: Path, n_phantoms: int, seed: int, samples: Path = SAMPLES,
           half: str | None = None) -> tuple[list[str], list[str], dict[str, tuple[int, str]]]:
    from PIL import Image

    from covidct.readers import read

    orig, copies = work / "originals", work / "copies"
    orig.mkdir(parents=True, exist_ok=True)
    copies.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images: list[tuple[np.ndarray, str]] = []
    for f in sorted(samples.rglob("*.dcm")):  # the samples folder itself, or its covid-ct-md folder
        digits = "".join(ch for ch in f.stem if ch.isdigit())
        if in_half(int(digits or 0), half):
            images.append((read(f).array, f.parent.name))
    for i in range(n_phantoms):
        if in_half(i, half):
            images.append((slice_hu(10_000 + i), f"phantom{i}"))
    names, scans, truth = [], [], {}
    for k, (hu, scan) in enumerate(images):
        name = f"o{k:05d}.dcm"
        write_dicom(orig / name, hu, scan, f"1.2.826.0.1.3680043.10.1{k:06d}.1", f"1.2.826.0.1.3680043.10.2{k:06d}")
        names.append(name)
        scans.append(scan)
        g = Image.fromarray(window(hu))
        g.save(copies / f"w{k:05d}.png")
        truth[f"w{k:05d}.png"] = (k, "windowed")
        buf = io.BytesIO()
        g.save(buf, "JPEG", quality=75)
        (copies / f"j{k:05d}.jpg").write_bytes(buf.getvalue())
        truth[f"j{k:05d}.jpg"] = (k, "re-encoded")
        g.resize((g.width // 2, g.height // 2), Image.Resampling.LANCZOS).save(copies / f"h{k:05d}.png")
        truth[f"h{k:05d}.png"] = (k, "resized")
        cw, ch = round(g.width * 0.05), round(g.height * 0.05)
        left, top = int(rng.integers(0, cw + 1)), int(rng.integers(0, ch + 1))
        g.crop((left, top, left + g.width - cw, top + g.height - ch)).save(copies / f"c{k:05d}.png")
        truth[f"c{k:05d}.png"] = (k, "cropped")
        (copies / f"r{k:05d}.dcm").write_bytes((orig / name).read_bytes())
        truth[f"r{k:05d}.dcm"] = (k, "renamed")
        centre, width = OTHER_WINDOWS[int(rng.integers(len(OTHER_WINDOWS)))]
        Image.fromarray(window(hu, centre, width)).save(copies / f"x{k:05d}.png")
        truth[f"x{k:05d}.png"] = (k, "other-window")
    return names, scans, truth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phantoms", type=int, default=500)
    ap.add_argument("--work", help="keep the images and manifests here (default: a temporary folder)")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--samples", default=str(SAMPLES), help="the COVID-CT-MD sample folder (default: %(default)s)")
    ap.add_argument("--near", type=int, help="the threshold to judge (default: covidct's default)")
    ap.add_argument("--half", choices=("even", "odd"), help="only the originals numbered even or odd (see above)")
    a = ap.parse_args()
    from covidct.fingerprint.manifest import fingerprint, folder_sources
    from covidct.fingerprint.overlaps import DEFAULT_NEAR, MAX_NEAR, find_overlaps

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(a.work) if a.work else Path(tmp)
        t0 = time.perf_counter()
        names, scans, truth = build(work, a.phantoms, samples=Path(a.samples), half=a.half)
        t1 = time.perf_counter()
        for folder in ("originals", "copies"):
            fingerprint(folder_sources(work / folder), work / f"{folder}.parquet", jobs=a.jobs, progress=False,
                        resume=False)
        t2 = time.perf_counter()
        rep = find_overlaps([work / "originals.parquet", work / "copies.parquet"], near=MAX_NEAR, limit=10**9)
        t3 = time.perf_counter()
    n_real = sum(1 for sc in scans if not sc.startswith("phantom"))
    print(f"{len(names)} originals ({n_real} real slices, {len(names) - n_real} synthetic"
          f"{', ' + a.half + ' half' if a.half else ''}), "
          f"{len(truth)} copies; build {t1 - t0:.0f} s, fingerprint {t2 - t1:.0f} s, search {t3 - t2:.1f} s")
    index = {n: k for k, n in enumerate(names)}
    # the smallest distance (0 for file/pixels/uid) linking each (original, copy) pair
    best: dict[tuple[int, str], int] = {}
    for p in rep.pairs:
        if p.kind == "patient" or {p.a["manifest"], p.b["manifest"]} != {"originals", "copies"}:
            continue
        o, c = (p.a, p.b) if p.a["manifest"] == "originals" else (p.b, p.a)
        key = (index[o["path"]], c["path"])
        d = p.distance if p.kind == "near" else 0
        best[key] = min(best.get(key, 999), d if d is not None else 0)
    n_copies = {v: sum(1 for _k, vv in truth.values() if vv == v) for v in VARIANTS}
    scan = np.array(scans)
    same_scan_pairs = {v: sum(int((scan == scan[k]).sum()) - 1 for _n, (k, vv) in truth.items() if vv == v)
                       for v in VARIANTS}
    thresholds = sorted({8, 16, 20, 24, 28, 32, MAX_NEAR, a.near or DEFAULT_NEAR})
    print("\nrecall per variant, and false pairs per 10,000 distinct (copy, other original) pairs:")
    print(f"{'K':>3} " + " ".join(f"{v:>13}" for v in VARIANTS) + "  false/1e4 other scans  same scan")
    for k in thresholds:
        found = {v: 0 for v in VARIANTS}
        false_other = {v: 0 for v in VARIANTS}
        false_same = {v: 0 for v in VARIANTS}
        for (o, c), d in best.items():
            if d > k:
                continue
            orig, variant = truth[c]
            if o == orig:
                found[variant] += 1
            elif scans[o] == scans[orig]:
                false_same[variant] += 1
            else:
                false_other[variant] += 1
        cells = " ".join(f"{found[v] / n_copies[v]:>13.3f}" for v in VARIANTS)
        distinct_other = sum(n_copies[v] * (len(names) - 1) - same_scan_pairs[v] for v in VARIANTS)
        distinct_same = sum(same_scan_pairs.values())
        fo = sum(false_other.values()) / distinct_other * 1e4
        fs = sum(false_same.values()) / max(1, distinct_same) * 1e4
        mark = "  <- default" if k == (a.near or DEFAULT_NEAR) else ""
        print(f"{k:>3} {cells}  {fo:>21.2f}  {fs:>9.0f}{mark}")
    k = a.near or DEFAULT_NEAR
    print(f"\nconfusion at K={k} (one row per variant; 'found' = linked to its original):")
    print(f"{'variant':>13} {'copies':>7} {'found':>6} {'missed':>6} {'false other':>11} {'false same scan':>15}")
    ok = True
    for v in VARIANTS:
        found = sum(1 for (o, c), d in best.items() if d <= k and truth[c] == (o, v))
        fo = sum(1 for (o, c), d in best.items() if d <= k and truth[c][1] == v and o != truth[c][0]
                 and scans[o] != scans[truth[c][0]])
        fsame = sum(1 for (o, c), d in best.items() if d <= k and truth[c][1] == v and o != truth[c][0]
                    and scans[o] == scans[truth[c][0]])
        print(f"{v:>13} {n_copies[v]:>7} {found:>6} {n_copies[v] - found:>6} {fo:>11} {fsame:>15}")
        if v in REQUIRED and found / n_copies[v] < REQUIRED[v]:
            ok = False
    real = {k for k, sc in enumerate(scans) if not sc.startswith("phantom")}
    for v in ("cropped", "other-window"):
        hit = {c for (o, c), d in best.items() if d <= k and truth[c] == (o, v)}
        mine = [c for c, (o, vv) in truth.items() if vv == v]
        r = sum(1 for c in mine if truth[c][0] in real and c in hit)
        n_real = sum(1 for c in mine if truth[c][0] in real)
        print(f"  {v}: real slices {r}/{n_real}, synthetic {len(hit) - r}/{len(mine) - n_real}")
    print("targets: recall >= 0.99 re-encoded, windowed, renamed; >= 0.95 resized, cropped; <= 1 false pair per "
          "10,000 distinct pairs" + ("" if ok else "  (RECALL TARGET MISSED)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
