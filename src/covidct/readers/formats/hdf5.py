"""HDF5: recognised (cards may list such files) but not read."""

from __future__ import annotations

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import MAGIC, Format, magic

FORMATS = [
    Format(FileFormat.HDF5, "application/x-hdf5", (".h5", ".hdf5"),
           sniffers=((MAGIC, magic(0, b"\x89HDF\r\n\x1a\n")),)),
]
