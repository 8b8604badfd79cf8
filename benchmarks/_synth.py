"""Synthesized data and cards shared by the benchmarks: one home for each writer.

- :func:`card`: a benchmark's card from its configs (the fields every card needs, filled in once)
- :func:`ct_base`, :func:`ct_dicom`: a smooth 512x512 12-bit CT image, and one CT slice written as DICOM
- :func:`class_slices`: DICOM CT slices in two class folders (``covid/00000.dcm``, ``normal/00001.dcm``)
- :func:`patient_slices`, :func:`patient_slices_card`: 16-bit slices of 200 per patient folder
  (``p<patient>/<n>.dcm`` or ``.tif``), the data of the memory and the num_proc benchmarks

covidct and the image libraries are imported inside the functions: the benchmarks' child processes
import this module before they set anything up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SLICES_PER_PATIENT = 200


def card(*configs: dict[str, Any], **fields: Any) -> Any:  # a covidct Card
    """A card holding ``configs``; ``fields`` replace the defaults (id ``bench``, open, CC0)."""
    from covidct.card.model import Card

    return Card.model_validate({
        "id": "bench", "name": "Bench", "summary": "benchmark", "description": "benchmark",
        "modality": ["CT"], "anatomy": ["chest"], "license": {"id": "CC0-1.0", "redistribution": "allowed"},
        "access": {"kind": "open"}, "last_reviewed": "2026-01-01", **fields, "configs": list(configs),
    })


def two_class_config(fmt: str, ext: str, example: str, image: dict[str, Any]) -> dict[str, Any]:
    """A config of images in two class folders, ``covid/<name>.<ext>`` and ``normal/<name>.<ext>``."""
    return {
        "name": "default", "tasks": ["image-classification"], "dimensionality": "2D", "example": example,
        "labels": [{"name": "label", "kind": "class", "granularity": "image", "source": ["unknown"],
                    "classes": [{"name": "covid", "value": 0}, {"name": "normal", "value": 1}]}],
        "image": {"formats": [fmt], **image},
        "layout": {"parts": {"cls": {"regex": "covid|normal"}, "name": {"regex": "[^/]+"}},
                   "files": {"image": {"pattern": f"{{cls}}/{{name}}.{ext}", "format": fmt}},
                   "labels": {"label": {"part": "cls"}}},
    }


def ct_base(seed: int = 0) -> Any:  # numpy uint16 (512, 512)
    """A smooth random 512x512 image of 12-bit stored values (what a CT slice stores before rescaling)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return (rng.normal(0, 1, (512, 512)).cumsum(0).cumsum(1) % 4096).astype(np.uint16)


def ct_dicom(path: Path, stored: Any, intercept: int = -1024) -> Path:
    """One uncompressed CT slice: 12 of 16 bits stored, rescaled by slope 1 and ``intercept`` to HU."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = CTImageStorage, meta.MediaStorageSOPInstanceUID, "CT"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, intercept
    ds.PixelSpacing = [0.7, 0.7]
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def class_slices(root: Path, n: int) -> None:
    """``n`` CT slices (:func:`ct_base` rolled by one row each), even ones under ``covid/``, odd under ``normal/``."""
    import numpy as np

    base = ct_base()
    for i in range(n):
        path = root / ("covid" if i % 2 == 0 else "normal") / f"{i:05d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ct_dicom(path, np.roll(base, i, axis=0))


def patient_slices_card(fmt: str) -> Any:  # a covidct Card
    """The card of :func:`patient_slices`: ``p<patient>/<n>.<ext>``, 512x512 16-bit, one slice per example."""
    return card({
        "name": "default", "tasks": ["image-classification"], "dimensionality": "2D", "example": "slice",
        "image": {"formats": [fmt], "bit_depth": [16], "size": {"min": [512, 512], "max": [512, 512]},
                  "intensity": "raw-16bit" if fmt == "tiff" else "hounsfield"},
        "layout": {"parts": {"patient": {"regex": "p[0-9]+"}, "n": {"regex": "[0-9]+", "type": "int"}},
                   "files": {"image": {"pattern": "{patient}/{n}." + ("tif" if fmt == "tiff" else "dcm"),
                                       "format": fmt}},
                   "patient": {"part": "patient"}},
    }, id="bench-mem")


def patient_slices(root: Path, n: int, fmt: str) -> None:
    """``n`` 512x512 16-bit slices, :data:`SLICES_PER_PATIENT` per patient folder: zlib TIFFs (lossless,
    like COVID-CTset) or uncompressed DICOM CT slices (``fmt`` ``dicom``)."""
    import numpy as np

    yy, xx = np.mgrid[0:512, 0:512]
    base = ((yy * 7 + xx * 3) % 4000).astype(np.uint16)
    for i in range(n):
        p = root / f"p{i // SLICES_PER_PATIENT}" / f"{i % SLICES_PER_PATIENT}.{'tif' if fmt == 'tiff' else 'dcm'}"
        p.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "tiff":
            import tifffile

            tifffile.imwrite(p, base + (i % 97), compression="zlib")
        else:
            ct_dicom(p, ((base + (i % 97)) % 4096).astype(np.uint16))
