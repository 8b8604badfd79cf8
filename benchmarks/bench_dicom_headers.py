"""Header-driven grouping of DICOM slices in random folders, against "a bare pydicom header loop".

Writes N synthesized CT slices (series of --per-series slices, a realistic header of about 70 elements,
64x64 pixels) each into its own random folder (1-3 random levels), then times in the same run:
  baseline: ``pydicom.dcmread(path, stop_before_pixels=True)`` for every file of a given list (what any
            loader that reads headers must do at least once; no walk, no grouping)
  covidct:  ``make_plan(card, None, [folder])`` and every record in slice order -- the walk, the data
            signature, one header pass per file (PatientID, StudyInstanceUID, SeriesInstanceUID, Modality
            and the slice-order attributes), the `where` filter, grouping by SeriesInstanceUID, ordering by
            ImagePositionPatient; the header cache is empty for this run (a fresh COVIDCT_CACHE_DIR)
  cached:   the same again with the cache of the previous run (an unchanged folder)
Medians of --repeat runs, alternating order; prints each and the ratio covidct / baseline.

    python benchmarks/bench_dicom_headers.py [--n 20000] [--per-series 100] [--repeat 3]

Target (issue 16): covidct at most 1.2x the baseline for 20,000 slices.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from _synth import card as card_of

from covidct.card.model import Card

CONFIG = {
    "name": "default", "tasks": ["other"], "dimensionality": "3D", "example": "series",
    "image": {"formats": ["dicom"], "intensity": "stored-with-rescale"},
    "layout": {
        "files": {"image": {"pattern": "**/*.dcm", "format": "dicom"}},
        "headers": {"patient": "PatientID", "study": "StudyInstanceUID", "series": "SeriesInstanceUID"},
        "where": {"Modality": ["CT"]},
        "group": {"by": ["series"], "order_by": "ImagePositionPatient"},
        "patient": {"part": "patient"},
        "scan": {"part": "series"},
    },
}


def _template() -> object:
    """A CT slice with the attributes a scanner writes (patient, study, series, equipment, geometry...)."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    for kw, v in {
        "StudyDate": "20000101", "SeriesDate": "20000101", "AcquisitionDate": "20000101", "ContentDate": "20000101",
        "StudyTime": "120000", "SeriesTime": "120100", "AcquisitionTime": "120101", "ContentTime": "120102",
        "AccessionNumber": "A123456", "Modality": "CT", "Manufacturer": "GE MEDICAL SYSTEMS",
        "InstitutionName": "Anonymous", "ReferringPhysicianName": "", "StationName": "CT01",
        "StudyDescription": "CHEST", "SeriesDescription": "Lung 1.25mm", "ManufacturerModelName": "LightSpeed16",
        "PatientName": "Anon", "PatientBirthDate": "", "PatientSex": "M", "PatientAge": "062Y",
        "BodyPartExamined": "CHEST", "ScanOptions": "HELICAL MODE", "SliceThickness": "1.25", "KVP": "120",
        "DataCollectionDiameter": "500", "SoftwareVersions": "LightSpeedverrel", "ProtocolName": "Chest",
        "ReconstructionDiameter": "360", "DistanceSourceToDetector": "949.075", "DistanceSourceToPatient": "541",
        "GantryDetectorTilt": "0", "TableHeight": "150", "RotationDirection": "CW", "ExposureTime": "500",
        "XRayTubeCurrent": "200", "Exposure": "4", "FilterType": "BODY FILTER", "GeneratorPower": "24000",
        "FocalSpots": "0.7", "ConvolutionKernel": "LUNG", "PatientPosition": "FFS", "StudyID": "1",
        "SeriesNumber": "2", "AcquisitionNumber": "1", "FrameOfReferenceUID": "1.2.3.4.5",
        "PositionReferenceIndicator": "SN", "SamplesPerPixel": 1, "PhotometricInterpretation": "MONOCHROME2",
        "Rows": 64, "Columns": 64, "PixelSpacing": ["0.703125", "0.703125"], "BitsAllocated": 16,
        "BitsStored": 16, "HighBit": 15, "PixelRepresentation": 1, "WindowCenter": "-600", "WindowWidth": "1600",
        "RescaleIntercept": "-1024", "RescaleSlope": "1", "ImageOrientationPatient": ["1", "0", "0", "0", "1", "0"],
    }.items():
        setattr(ds, kw, v)
    ds.PixelData = np.zeros((64, 64), dtype=np.int16).tobytes()
    return ds


def make_slices(folder: Path, n: int, per_series: int, seed: int = 16) -> list[Path]:
    """N slices, each in its own random folder; series of ``per_series`` slices, ten series per patient."""
    from pydicom.uid import generate_uid

    rng = random.Random(seed)
    ds = _template()
    paths = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            s, pos = divmod(i, per_series)
            if pos == 0:
                ds.PatientID = f"PAT-{s // 10:05d}"
                ds.StudyInstanceUID = generate_uid(entropy_srcs=[str(s // 10), "study"])
                ds.SeriesInstanceUID = generate_uid(entropy_srcs=[str(s), "series"])
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(i)])
            ds.InstanceNumber = pos + 1
            ds.ImagePositionPatient = ["-180", "-180", f"{-pos * 1.25:.2f}"]
            ds.SliceLocation = f"{-pos * 1.25:.2f}"
            rel = "/".join(f"{rng.getrandbits(40):010x}" for _ in range(rng.randint(1, 3))) + f"/{i:06d}.dcm"
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def baseline(paths: list[Path]) -> int:
    import pydicom

    n = 0
    for p in paths:
        pydicom.dcmread(p, stop_before_pixels=True)
        n += 1
    return n


def ours(card: Card, folder: Path, cache: Path) -> int:
    from covidct.layout.plan import make_plan

    os.environ["COVIDCT_CACHE_DIR"] = str(cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the card gives no counts
        plan = make_plan(card, None, [folder])
        return sum(len(r.files["image"]) for r in plan.records())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--per-series", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    card = card_of(CONFIG)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        t = time.perf_counter()
        paths = make_slices(folder, args.n, args.per_series)
        print(f"wrote {len(paths):,} slices in random folders in {time.perf_counter() - t:.1f} s")
        baseline(paths)  # warm the page cache for both
        base, cold, warm = [], [], []
        for r in range(args.repeat):
            cache = Path(tmp) / f"cache{r}"
            for which in (("base", "ours") if r % 2 == 0 else ("ours", "base")):
                t = time.perf_counter()
                if which == "base":
                    assert baseline(paths) == len(paths)
                    base.append(time.perf_counter() - t)
                else:
                    assert ours(card, folder, cache) == len(paths)
                    cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert ours(card, folder, cache) == len(paths)
            warm.append(time.perf_counter() - t)
        b, c, w = statistics.median(base), statistics.median(cold), statistics.median(warm)
        print(f"baseline dcmread(stop_before_pixels=True) loop: {b:.2f} s  ({', '.join(f'{x:.2f}' for x in base)})")
        print(f"covidct header-driven plan + records:         {c:.2f} s  ({', '.join(f'{x:.2f}' for x in cold)})")
        print(f"  again, header values from the cache:        {w:.2f} s  ({', '.join(f'{x:.2f}' for x in warm)})")
        print(f"ratio covidct / baseline: {c / b:.2f}  (target <= 1.2); cached: {w / b:.2f}")


if __name__ == "__main__":
    main()
