"""NumPy .npy arrays (never unpickled: object arrays are refused)."""

from __future__ import annotations

from typing import Any

import numpy as np

from covidct.fsutil import open_regular
from covidct.readers._common import Decoded, ReadError, check_regular, damaged, intensity_of


def read(src: Any, *, mask: bool = False) -> Decoded:
    check_regular(src)
    try:
        arr = np.load(src, allow_pickle=False)
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except Exception as exc:
        raise damaged(src, "load the .npy array", exc) from None
    if not isinstance(arr, np.ndarray):
        raise ReadError(src, "is an .npz archive, not one .npy array")
    return Decoded(arr, None, intensity_of(arr.dtype, mask=mask), {"real_format": "npy"})


def read_header(src: Any) -> dict[str, object]:
    from numpy.lib import format as npformat

    check_regular(src)
    try:
        fh = src if hasattr(src, "read") else open_regular(src)
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = npformat.read_array_header_2_0(fh)
    except Exception as exc:
        raise damaged(src, "read the .npy header", exc) from None
    finally:
        if fh is not src:
            fh.close()
    return {"real_format": "npy", "shape": list(shape), "dtype": str(dtype), "fortran_order": bool(fortran)}
