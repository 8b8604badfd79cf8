"""NumPy's .npy arrays (covidct.readers.npy); never pickles."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import MAGIC, Format, WriteSpec, magic, write_bytes


def _reader() -> ModuleType:
    from covidct.readers import npy

    return npy


def npy_bytes(arr: Any) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _write(arr: Any, target: Path, spec: WriteSpec) -> None:
    write_bytes(target, npy_bytes(arr))


FORMATS = [
    Format(FileFormat.NPY, "application/x-npy", (".npy",), gzip_inner=True, family="npy", library="numpy",
           reader=_reader, writer=_write, sniffers=((MAGIC, magic(0, b"\x93NUMPY")),)),
]
