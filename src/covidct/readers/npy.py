"""NumPy .npy arrays (never unpickled: object arrays are refused)."""

from __future__ import annotations

from typing import Any

import numpy as np

from covidct.fsutil import open_regular
from covidct.readers._common import (
    Decoded,
    ReadError,
    check_decoded_size,
    check_regular,
    damaged,
    gunzipped,
    intensity_of,
)


def read(src: Any, *, mask: bool = False) -> Decoded:
    inner = gunzipped(src)  # the sniffer calls a gzipped .npy NPY (Format.gzip_inner): read what it holds
    if inner is not None:
        src = inner
    pos = src.tell() if hasattr(src, "seek") else None
    if _peek(src, 4) != b"PK\x03\x04":
        # shape and dtype first: a 100-byte header can declare terabytes
        shape, _, dtype = _header(src)
        check_decoded_size(src, ".npy header", shape, dtype.itemsize)
    if pos is not None:
        src.seek(pos)
    try:
        arr = np.load(src, allow_pickle=False)
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except Exception as exc:
        raise damaged(src, "load the .npy array", exc) from None
    if not isinstance(arr, np.ndarray):
        raise ReadError(src, "is an .npz archive, not one .npy array")
    return Decoded(arr, None, intensity_of(arr.dtype, mask=mask), {"real_format": "npy"})


def _peek(src: Any, n: int) -> bytes:
    if hasattr(src, "read"):
        pos = src.tell()
        head = src.read(n)
        src.seek(pos)
        return head
    check_regular(src)
    try:
        with open_regular(src) as fh:
            return fh.read(n)
    except OSError:
        return b""  # _header says what is wrong


def _header(src: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    from numpy.lib import format as npformat

    check_regular(src)
    try:
        fh = src if hasattr(src, "read") else open_regular(src)
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            return npformat.read_array_header_1_0(fh)
        return npformat.read_array_header_2_0(fh)
    except Exception as exc:
        raise damaged(src, "read the .npy header", exc) from None
    finally:
        if fh is not src:
            fh.close()


def read_header(src: Any) -> dict[str, object]:
    shape, fortran, dtype = _header(src)
    return {"real_format": "npy", "shape": list(shape), "dtype": str(dtype), "fortran_order": bool(fortran)}
