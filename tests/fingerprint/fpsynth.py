"""Synthetic images for the fingerprint tests, written with the real libraries (Pillow, pydicom, tifffile, nibabel)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def ct_slice(seed: int, size: int = 256) -> np.ndarray:
    """A distinct chest-CT-like slice in HU (int16): body, two lungs with vessels, spine; random per seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.full((size, size), -1000.0, np.float32)
    cy, cx = rng.uniform(0.45, 0.55), rng.uniform(0.45, 0.55)
    ry, rx = rng.uniform(0.25, 0.33), rng.uniform(0.33, 0.45)
    img[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = 40
    for side in (-1, 1):
        ly, lx = cy + rng.uniform(-0.05, 0.02), cx + side * rx * rng.uniform(0.4, 0.55)
        lry, lrx = ry * rng.uniform(0.5, 0.8), rx * rng.uniform(0.25, 0.4)
        lung = ((yy - ly) / lry) ** 2 + ((xx - lx) / lrx) ** 2 <= 1
        img[lung] = -850
        for _ in range(int(rng.integers(10, 40))):
            vy, vx, r = rng.normal(ly, lry / 2), rng.normal(lx, lrx / 2), rng.uniform(0.005, 0.02)
            img[lung & ((yy - vy) ** 2 + (xx - vx) ** 2 <= r * r)] = rng.uniform(-100, 60)
    img[(yy - cy - ry * 0.7) ** 2 + (xx - cx) ** 2 <= (0.04) ** 2] = 700
    img += rng.normal(0, 15, img.shape).astype(np.float32)
    return np.round(img).astype(np.int16)


def lung_window(hu: np.ndarray, centre: float = -600, width: float = 1500) -> np.ndarray:
    lo = centre - width / 2
    return np.clip((hu.astype(np.float32) - lo) * (255.0 / width), 0, 255).round().astype(np.uint8)


def write_dicom(path: Path, arr: np.ndarray, *, modality: str = "CT", patient: str = "PAT1", sop: str = "1.2.3.4.1",
                series: str = "1.2.3.5", intercept: int = -1024) -> Path:
    """A 16-bit DICOM slice; CT arrays are HU stored with ``intercept``, others stored as they are."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = series + ".9", series
    ds.PatientID, ds.Modality = patient, modality
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    if modality == "CT":
        ds.PixelRepresentation = 1
        ds.RescaleIntercept, ds.RescaleSlope = intercept, 1
        ds.PixelData = (arr.astype(np.int32) - intercept).astype("<i2").tobytes()
    else:
        ds.PixelRepresentation = 0
        ds.PixelData = arr.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def save_png(path: Path, arr: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(arr).save(path)
    return path


def jpeg_bytes(arr: np.ndarray, quality: int = 75) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def half(arr: np.ndarray) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(arr)
    return np.asarray(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS))


def crop5(arr: np.ndarray, left_share: float = 0.3, top_share: float = 0.7) -> np.ndarray:
    """Cut 5% of the width and height, split between the sides."""
    h, w = arr.shape[:2]
    ch, cw = round(h * 0.05), round(w * 0.05)
    top, left = round(ch * top_share), round(cw * left_share)
    return arr[top:top + h - ch, left:left + w - cw]


def shoulder_slice(seed: int, size: int = 256) -> np.ndarray:
    """A slice at the lung apex in HU (int16): shoulders and arms wider than the image (the body is cut by
    its left and right borders), no lungs, a trachea, spine, collarbones and arm bones; random per seed."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.full((size, size), -1000.0, np.float32)
    cy, cx = rng.uniform(0.45, 0.55), rng.uniform(0.46, 0.54)
    ry, rx = rng.uniform(0.18, 0.26), rng.uniform(0.6, 0.75)  # wider than the image: cut at both sides
    img[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = -90  # fat
    img[((yy - cy) / (ry * 0.8)) ** 2 + ((xx - cx) / (rx * 0.9)) ** 2 <= 1] = 45  # muscle
    neck = ((yy - cy + ry * 0.9) / (ry * 0.6)) ** 2 + ((xx - cx) / rng.uniform(0.08, 0.12)) ** 2 <= 1
    img[neck] = 40
    img[(yy - cy + ry * 0.3) ** 2 + (xx - cx) ** 2 <= rng.uniform(0.015, 0.025) ** 2] = -1000  # trachea
    img[(yy - cy - ry * 0.4) ** 2 + (xx - cx) ** 2 <= rng.uniform(0.03, 0.045) ** 2] = 700  # vertebra
    for side in (-1, 1):
        bx = cx + side * rx * rng.uniform(0.55, 0.7)
        img[((yy - cy) / 0.05) ** 2 + ((xx - bx) / 0.05) ** 2 <= 1] = 900  # humerus head
        cl = (np.abs(yy - cy + ry * 0.5 + side * (xx - cx) * rng.uniform(-0.1, 0.1)) < 0.012) & (
            np.abs(xx - cx - side * 0.17) < 0.1)
        img[cl] = 600  # collarbone
        for _ in range(int(rng.integers(5, 15))):  # vessels and fat in the muscles
            vy, vx, r = rng.normal(cy, ry / 2), rng.normal(cx + side * 0.25, 0.1), rng.uniform(0.005, 0.02)
            img[(yy - vy) ** 2 + (xx - vx) ** 2 <= r * r] = rng.uniform(-100, 80)
    img = ndimage.gaussian_filter(img, 1.5)  # a scanner's blur: no edge is one pixel sharp
    img += rng.normal(0, 15, img.shape).astype(np.float32)
    return np.round(img).astype(np.int16)
