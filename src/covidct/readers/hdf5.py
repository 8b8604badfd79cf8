"""HDF5 files whose datasets hold one example per row (axis 0), read with h5py one row at a time.

An HDF5 file is untrusted like every other file: it is opened through ``fsutil.open_regular`` (h5py reads
the open file object, so no path of the file's own choosing is opened), and a dataset is used only when

- it is reached from the root by hard links only (an external or soft link could point anywhere);
- its bytes live in the file itself: no external raw storage and no virtual dataset (both name other files);
- its type is a plain number (bool, integer, float): no compound, string, variable-length, reference or
  object types, which h5py would turn into Python objects;
- it has at most ``MAX_NDIM`` axes, and what is read (one row, or the whole dataset for a label column) is
  within ``check_decoded_size`` before anything is decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from covidct.fsutil import UnsafePath, open_regular
from covidct.readers._common import (
    INSTALL_HINT,
    Decoded,
    MissingLibrary,
    ReadError,
    check_decoded_size,
    check_regular,
    damaged,
    intensity_of,
)

MAX_NDIM = 4  # rows of 3-D patches; more axes are no image
MAX_ROWS = 100_000  # examples from HDF5 rows, all files together: each is a record in memory (~1 kB), and
# unwritten chunks make a declared row free for whoever writes the file (the real dataset has 6,691)
DATASET_RE = re.compile(r"^/?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")  # a card's dataset name: no '..', no empty step


@contextmanager
def dataset(src: Any, name: str) -> Iterator[Any]:
    """The HDF5 dataset ``name`` of the file ``src``, checked as the module says, open while in the block."""
    try:
        import h5py
    except ImportError:
        raise MissingLibrary(src, "reading HDF5 files needs h5py", INSTALL_HINT) from None
    if not DATASET_RE.match(name) or ".." in name.split("/"):
        raise ReadError(src, f"{name!r} is not a usable HDF5 dataset name (letters, digits, '_', '.', '-', '/')")
    check_regular(src)
    try:
        fh = open_regular(src, "HDF5 file")
    except UnsafePath as exc:
        raise ReadError(src, exc.problem) from None
    except OSError as exc:
        raise ReadError(src, f"cannot open ({exc.strerror or exc})") from None
    with fh:
        try:
            f = h5py.File(fh, "r")
        except Exception as exc:
            raise damaged(src, "open the HDF5 file", exc) from None
        with f:
            yield _checked(src, f, name, h5py)


def _checked(src: Any, f: Any, name: str, h5py: Any) -> Any:
    node: Any = f
    for step in [s for s in name.split("/") if s]:
        try:
            link = node.get(step, getlink=True)
        except Exception as exc:
            raise damaged(src, f"read the HDF5 link {step!r}", exc) from None
        if link is None:
            names = sorted(node.keys())[:20] if isinstance(node, h5py.Group) else []
            raise ReadError(src, f"has no HDF5 dataset {name!r} (members of {node.name!r}: {names})")
        if not isinstance(link, h5py.HardLink):
            raise ReadError(src, f"HDF5 member {step!r} of {name!r} is a {type(link).__name__}, which could point "
                            "outside the file; only members stored in the file are read")
        node = node[step]
    if not isinstance(node, h5py.Dataset):
        raise ReadError(src, f"HDF5 member {name!r} is a group, not a dataset")
    if node.is_virtual or node.external:
        raise ReadError(src, f"HDF5 dataset {name!r} keeps its data in other files (virtual or external "
                        "storage); only data stored in the file itself is read")
    dt = node.dtype
    if dt.kind not in "biuf" or dt.fields is not None or dt.subdtype is not None or h5py.check_dtype(vlen=dt):
        raise ReadError(src, f"HDF5 dataset {name!r} holds {dt} values; only plain numbers (bool, integer, float) "
                        "are read")
    if not 1 <= len(node.shape) <= MAX_NDIM:
        raise ReadError(src, f"HDF5 dataset {name!r} has shape {node.shape}; examples are its rows, so it needs "
                        f"1 to {MAX_NDIM} axes")
    return node


def rows(src: Any, name: str) -> int:
    """How many rows (examples) dataset ``name`` holds: its header only, nothing is decoded."""
    with dataset(src, name) as d:
        return int(d.shape[0])


def read_row(src: Any, name: str, row: int, *, mask: bool = False) -> Decoded:
    """Row ``row`` of dataset ``name`` (a 2-D patch of a (N, H, W) dataset), its size checked first."""
    import numpy as np

    with dataset(src, name) as d:
        n = int(d.shape[0])
        if not 0 <= row < n:
            raise ReadError(src, f"HDF5 dataset {name!r} has {n} rows; row {row} is missing")
        check_decoded_size(src, f"HDF5 dataset {name!r} row", d.shape[1:], d.dtype.itemsize)
        try:
            arr = np.asarray(d[row])
        except Exception as exc:
            raise damaged(src, f"read row {row} of HDF5 dataset {name!r}", exc) from None
    return Decoded(arr, None, intensity_of(arr.dtype, mask=mask), {"real_format": "hdf5", "dataset": name,
                                                                  "row": row})


def read_all(src: Any, name: str) -> Any:
    """The whole dataset ``name`` (a label column: one value per row), its size checked first."""
    import numpy as np

    with dataset(src, name) as d:
        check_decoded_size(src, f"HDF5 dataset {name!r}", d.shape, d.dtype.itemsize)
        try:
            return np.asarray(d[()])
        except Exception as exc:
            raise damaged(src, f"read HDF5 dataset {name!r}", exc) from None


def read(src: Any, *, mask: bool = False) -> Decoded:
    raise ReadError(src, "an HDF5 file holds many examples; the card's layout names the dataset whose rows they are "
                    "(`files: {image: {format: hdf5, dataset: <name>}}`)")
