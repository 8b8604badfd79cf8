"""Anything else: no signature covidct knows; Pillow is tried as a last resort (GIF, WebP...)."""

from __future__ import annotations

from types import ModuleType

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import Format


def _reader() -> ModuleType:
    from covidct.readers import raster

    return raster


FORMATS = [Format(FileFormat.OTHER, "application/octet-stream", family="raster", library="PIL", reader=_reader)]
