"""NIfTI-1, NIfTI-2 (also gzipped) and Analyze 7.5 .hdr/.img pairs: nibabel reads (covidct.readers.nifti)
and writes them."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import BY_SIBLING, HEADER_BY_NAME, MAGIC, Format, WriteSpec, sibling, write_bytes


def _reader() -> ModuleType:
    from covidct.readers import nifti

    return nifti


def _nifti1(head: bytes, name: str) -> bool:
    return len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00")


def _nifti2(head: bytes, name: str) -> bool:
    return len(head) >= 8 and head[4:8] in (b"n+2\x00", b"ni2\x00")


def _analyze(head: bytes, name: str) -> bool:
    """An Analyze 7.5 header: no magic, a header size of 348 and the suffix .hdr."""
    return len(head) >= 348 and int.from_bytes(head[:4], "little") == 348 and name.lower().endswith(".hdr")


def _img_of_hdr(head: bytes, name: str) -> bool:
    return bool(name) and name.lower().endswith(".img") and sibling(name, (".hdr", ".HDR"))


def _write(arr: Any, target: Path, spec: WriteSpec) -> None:
    import nibabel as nib
    import numpy as np

    data = np.ascontiguousarray(arr.T)  # (z, y, x) → (x, y, z)
    img = nib.Nifti1Image(data, np.diag([0.7, 0.7, 2.0, 1.0]))
    buf = io.BytesIO()
    fh = nib.FileHolder(fileobj=buf)
    if spec.name.endswith(".gz"):
        import gzip

        raw = io.BytesIO()
        img.to_file_map({"image": nib.FileHolder(fileobj=raw), "header": nib.FileHolder(fileobj=raw)})
        write_bytes(target, gzip.compress(raw.getvalue(), mtime=0))
    else:
        img.to_file_map({"image": fh, "header": fh})
        write_bytes(target, buf.getvalue())


FORMATS = [
    Format(FileFormat.NIFTI, "application/x-nifti", (".nii", ".nii.gz"), image=True, volume=True, spacing=True,
           gzip_inner=True, family="nifti", library="nibabel", reader=_reader, writer=_write,
           sniffers=((MAGIC, _nifti1), (MAGIC, _nifti2), (HEADER_BY_NAME, _analyze), (BY_SIBLING, _img_of_hdr))),
]
