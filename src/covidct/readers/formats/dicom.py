"""DICOM: pydicom (+ pylibjpeg) reads it (covidct.readers.dicom); with or without the 128-byte preamble."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import MAGIC_FIRST, STRUCTURE, Format, WriteSpec, magic, write_bytes


def _reader() -> ModuleType:
    from covidct.readers import dicom

    return dicom


def looks_like_bare_dicom(head: bytes, name: str = "") -> bool:
    """A DICOM stream without preamble: starts with a group 0002/0008 element, explicit or implicit VR."""
    if len(head) < 12:
        return False
    group = int.from_bytes(head[0:2], "little")
    element = int.from_bytes(head[2:4], "little")
    if group not in (0x0002, 0x0008) or element > 0x0100:
        return False
    vr = head[4:6]
    if vr.isalpha() and vr.isupper():
        return True
    length = int.from_bytes(head[4:8], "little")  # implicit VR: a 32-bit length
    return length < 1024


def _write(arr: Any, target: Path, spec: WriteSpec) -> None:
    """An uncompressed CT slice; SliceLocation/ImagePositionPatient/InstanceNumber as ``spec.slice`` says."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    at = spec.slice
    if at is None:
        raise ValueError("a DICOM slice needs its place in the scan (WriteSpec.slice)")
    mask = spec.mask
    z = at.z
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(at.scan), str(at.position), str(mask)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[str(at.scan), "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[str(at.scan), "series"])
    ds.Modality = "CT"
    ds.PatientID = at.patient
    ds.InstanceNumber = at.instance
    ds.SliceLocation = f"{z:.1f}"
    ds.ImagePositionPatient = ["-150.0", "-150.0", f"{z:.1f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = ["0.7", "0.7"]
    ds.SliceThickness = "2.0"
    ds.Rows, ds.Columns = arr.shape[-2], arr.shape[-1]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16 if mask else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    if mask:
        stored = arr.astype(np.uint16)
    else:
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        stored = (arr.astype(np.int32) + 1024).clip(0, 4095).astype(np.uint16)
    ds.PixelData = stored.tobytes()
    for keyword, value in at.attributes:
        setattr(ds, keyword, value)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    write_bytes(target, buf.getvalue())


FORMATS = [
    Format(FileFormat.DICOM, "application/dicom", (".dcm", ".dicom"), image=True, slice_per_file=True, spacing=True,
           gzip_inner=True, suffix_guess=True, family="dicom", library="pydicom", reader=_reader, writer=_write,
           # first: a preamble may itself hold a TIFF header (pydicom's CT_small.dcm)
           sniffers=((MAGIC_FIRST, magic(128, b"DICM")), (STRUCTURE, looks_like_bare_dicom))),
]
