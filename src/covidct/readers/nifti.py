"""NIfTI-1/2 (.nii, .nii.gz, .hdr/.img pairs) with nibabel.

- The array is the stored voxel grid with its axes reversed: (i, j, k) on disk → (k, j, i), i.e.
  (z, y, x) for the usual axial volume; a 4D file gives (t, z, y, x). No resampling or reorientation:
  ``meta["affine"]`` and ``meta["axcodes"]`` (orientation of the file's i, j, k axes) say where it is.
- ``scl_slope``/``scl_inter`` are applied like DICOM's rescale: integral values give signed integers
  (int16 when the values fit), anything else float32. Without scaling the stored dtype is kept.
- ``spacing`` (mm, array axis order) comes from the voxel sizes (pixdim) when the header's spatial unit
  is mm, micron or metre; with an unknown unit it is ``None`` and ``meta["zooms"]`` holds the raw values.
"""

from __future__ import annotations

import contextlib
import gzip
import os
from typing import Any

import numpy as np

from covidct.readers._common import (
    Decoded,
    ReadError,
    check_decoded_size,
    companion,
    damaged,
    intensity_of,
    plain,
    rescale,
)

_TO_MM = {"mm": 1.0, "micron": 1e-3, "meter": 1000.0}


def _load(src: Any) -> Any:
    import nibabel as nib

    try:
        if hasattr(src, "read"):
            return _from_stream(src)
        _check_pair(src)
        return nib.load(src, mmap=False)
    except ReadError:
        raise
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except Exception as exc:
        raise damaged(src, "open as NIfTI", exc) from None


def _from_stream(src: Any) -> Any:
    """A NIfTI image from a file object, decompressing no more than its header declares.

    The header comes first (348 or 540 bytes); its shape and dtype are checked against the decoded-size
    limit before the voxel data are read, and then only ``vox_offset + declared bytes`` are read.
    """
    import io

    import nibabel as nib

    head = src.read(2)
    src.seek(src.tell() - len(head))
    fh: Any = gzip.GzipFile(fileobj=src, mode="rb") if head == b"\x1f\x8b" else src
    first = fh.read(540)  # NIfTI-2 header size; a NIfTI-1 header is 348 bytes
    v2 = first[4:8] in (b"n+2\x00", b"ni2\x00")
    header_cls, image_cls = (nib.Nifti2Header, nib.Nifti2Image) if v2 else (nib.Nifti1Header, nib.Nifti1Image)
    hdr = header_cls.from_fileobj(io.BytesIO(first))
    shape, dtype = hdr.get_data_shape(), hdr.get_data_dtype()
    check_decoded_size(src, "NIfTI header", shape, dtype.itemsize)
    count = int(dtype.itemsize)
    for n in shape:
        count *= int(n)
    rest = fh.read(max(int(hdr.get_data_offset()) + count - len(first), 0))
    return image_cls.from_bytes(first + rest)


_PAIR = {".hdr": ".img", ".img": ".hdr"}


def _check_pair(src: Any) -> None:
    """An Analyze/NIfTI pair (.hdr + .img): the other file nibabel opens must be a regular file beside it."""
    path = os.fspath(src)
    stem, ext = os.path.splitext(path)
    zipped = ""
    if ext.lower() in (".gz", ".bz2", ".zst"):
        zipped = ext
        stem, ext = os.path.splitext(stem)
    other = _PAIR.get(ext.lower())
    if other is None:
        return
    for suffix in (other, other.upper()):
        name = os.path.basename(stem) + suffix + zipped
        if os.path.lexists(os.path.join(os.path.dirname(path), name)):
            companion(path, name, "paired file")


def _header_meta(img: Any) -> dict[str, object]:
    import nibabel as nib

    hdr = img.header
    meta: dict[str, object] = {
        "real_format": "nifti",
        "nifti_version": 2 if isinstance(hdr, nib.Nifti2Header) else 1,
        "shape_on_disk": [int(n) for n in img.shape],
        "dtype_on_disk": str(hdr.get_data_dtype()),
        "zooms": [_f32(z) for z in hdr.get_zooms()],
    }
    space, time = hdr.get_xyzt_units()
    meta["xyzt_units"] = [space, time]
    affine = img.affine
    if affine is not None:
        meta["affine"] = plain(affine)
        with contextlib.suppress(Exception):  # a degenerate affine has no axis codes
            meta["axcodes"] = "".join(str(c) for c in nib.aff2axcodes(affine))
    for key in ("qform_code", "sform_code"):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            meta[key] = int(hdr[key])
    # nibabel moves scl_slope/scl_inter from the loaded header to the data proxy
    slope, inter = getattr(img.dataobj, "slope", 1.0), getattr(img.dataobj, "inter", 0.0)
    if (float(slope), float(inter)) != (1.0, 0.0):
        meta["scl_slope"] = float(slope)
        meta["scl_inter"] = float(inter)
    descrip = hdr.get("descrip")
    if descrip is not None:
        text = plain(descrip)
        if isinstance(text, str) and text.strip("\x00 "):
            meta["descrip"] = text.strip("\x00 ")
    return meta


def _f32(value: Any) -> float:
    """A float32 header value as the decimal it was written as (0.8, not 0.800000011920929)."""
    return float(str(np.float32(value)))


def _spacing(meta: dict[str, object], ndim: int) -> tuple[float, ...] | None:
    zooms = meta["zooms"]
    factor = _TO_MM.get(str(meta["xyzt_units"][0]))  # type: ignore[index]
    if factor is None or ndim > 3 or ndim < 2:
        return None
    return tuple(float(z) * factor for z in reversed(zooms[:ndim]))  # type: ignore[index]


def read(src: Any, *, mask: bool = False) -> Decoded:
    img = _load(src)
    meta = _header_meta(img)
    proxy = img.dataobj
    check_decoded_size(src, "NIfTI header", img.shape, img.header.get_data_dtype().itemsize)
    try:
        raw = np.asarray(proxy.get_unscaled()) if hasattr(proxy, "get_unscaled") else np.asarray(proxy)
    except Exception as exc:
        raise damaged(src, "read the NIfTI voxel data", exc) from None
    slope = float(getattr(proxy, "slope", 1.0))
    inter = float(getattr(proxy, "inter", 0.0))
    if (slope, inter) != (1.0, 0.0):
        arr = rescale(raw, slope, inter, owned=raw.flags.writeable)  # nibabel does not cache it
        meta["scaling_applied"] = True
    else:
        arr = raw
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    arr = arr.T  # (i, j, k) → (k, j, i); C-contiguous when the data were read in Fortran order
    return Decoded(arr, _spacing(meta, arr.ndim), intensity_of(arr.dtype, mask=mask), meta)


def read_header(src: Any) -> dict[str, object]:
    img = _load(src)
    meta = _header_meta(img)
    meta["shape"] = list(reversed(meta["shape_on_disk"]))  # type: ignore[arg-type]
    meta["spacing"] = _spacing(meta, len(img.shape))
    return meta
