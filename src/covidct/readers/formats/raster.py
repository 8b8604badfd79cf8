"""JPEG, PNG and BMP: pictures Pillow reads (covidct.readers.raster) and writes."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import MAGIC, Format, WriteSpec, magic, write_bytes


def _reader() -> ModuleType:
    from covidct.readers import raster

    return raster


def _bmp(head: bytes, name: str) -> bool:
    return head.startswith(b"BM") and len(head) >= 26


def _writer(pil_name: str) -> Any:
    def write(arr: Any, target: Path, spec: WriteSpec) -> None:
        import numpy as np
        from PIL import Image

        if pil_name in ("JPEG", "BMP") and arr.dtype != np.uint8:
            arr = (arr % 256).astype(np.uint8)
        if spec.channels >= 3 and arr.dtype == np.uint8 and not spec.mask:
            arr = np.stack([arr, (arr // 2).astype(np.uint8), (255 - arr).astype(np.uint8)], axis=-1)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format=pil_name, **({"quality": 95} if pil_name == "JPEG" else {}))
        write_bytes(target, buf.getvalue())

    return write


_COMMON = {"image": True, "raster": True, "slice_per_file": True, "family": "raster", "library": "PIL",
           "reader": _reader}

FORMATS = [
    Format(FileFormat.JPEG, "image/jpeg", (".jpg", ".jpeg"), sniffers=((MAGIC, magic(0, b"\xff\xd8\xff")),),
           writer=_writer("JPEG"), **_COMMON),  # type: ignore[arg-type]
    Format(FileFormat.PNG, "image/png", (".png",), sniffers=((MAGIC, magic(0, b"\x89PNG\r\n\x1a\n")),),
           writer=_writer("PNG"), **_COMMON),  # type: ignore[arg-type]
    Format(FileFormat.BMP, "image/bmp", (".bmp",), sniffers=((MAGIC, _bmp),), writer=_writer("BMP"),
           **_COMMON),  # type: ignore[arg-type]
]
