"""TIFF (also BigTIFF): tifffile reads (covidct.readers.tiff) and writes it, 16 bits without loss."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import MAGIC, Format, WriteSpec, magic, write_bytes


def _reader() -> ModuleType:
    from covidct.readers import tiff

    return tiff


def _write(arr: Any, target: Path, spec: WriteSpec) -> None:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, arr)
    write_bytes(target, buf.getvalue())


FORMATS = [
    Format(FileFormat.TIFF, "image/tiff", (".tif", ".tiff"), image=True, raster=True, slice_per_file=True,
           family="tiff", library="tifffile", reader=_reader, writer=_write,
           sniffers=((MAGIC, magic(0, b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),)),
]
