"""HDF5: one file holding many examples, each a row of a dataset the layout names (covidct.readers.hdf5)."""

from __future__ import annotations

from types import ModuleType

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import MAGIC, Format, magic


def _reader() -> ModuleType:
    from covidct.readers import hdf5

    return hdf5


FORMATS = [
    Format(FileFormat.HDF5, "application/x-hdf5", (".h5", ".hdf5"), family="hdf5", library="h5py", reader=_reader,
           sniffers=((MAGIC, magic(0, b"\x89HDF\r\n\x1a\n")),)),
]
