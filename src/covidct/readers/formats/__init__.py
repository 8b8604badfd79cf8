"""The file-format registry: every fact about a file format, in one object per format.

>>> from covidct.readers.formats import format_of
>>> f = format_of("dicom")
>>> f.mime, f.image, f.volume, f.spacing     # ('application/dicom', True, False, True)
>>> f.read("IM0001.dcm").spacing             # its reader; f.read_header, f.write (fixtures) likewise

Each module of this package (``raster``, ``dicom``, ``nifti``...) defines ``FORMATS``, a list of
:class:`~covidct.readers.formats._base.Format`; the modules are found by iterating the package, so a
new format is one new module here (plus its value in ``card.vocab.FileFormat``, which cards name).
Sniffing (:func:`sniff_bytes`), the loader's reader choice (``covidct.readers``), the fixture
synthesizer, ``covidct new``, the Hub Features and the Croissant export all ask this registry.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from functools import cache

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import Format, SliceFacts, WriteSpec

__all__ = ["Format", "SliceFacts", "WriteSpec", "all_formats", "format_of", "mime_for_name", "sniff_bytes",
           "suffix_guess"]


@cache
def _registry() -> dict[FileFormat, Format]:
    found: dict[FileFormat, Format] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for f in module.FORMATS:
            if f.fmt in found:
                raise RuntimeError(f"file format {f.fmt.value} is defined twice (in {module.__name__})")
            found[f.fmt] = f
    return {fmt: found[fmt] for fmt in FileFormat if fmt in found}  # in the vocabulary's order


def all_formats() -> list[Format]:
    """Every registered format, in the order of ``FileFormat``."""
    return list(_registry().values())


def format_of(fmt: FileFormat | str) -> Format:
    """The registry entry of ``fmt`` (a :class:`FileFormat` or its value); KeyError when none is registered."""
    return _registry()[FileFormat(fmt)]


@cache
def _sniffers() -> list[tuple[int, int, FileFormat, object]]:
    order = {fmt: i for i, fmt in enumerate(FileFormat)}
    return sorted(((rank, order[f.fmt], f.fmt, test) for f in all_formats() for rank, test in f.sniffers),
                  key=lambda t: (t[0], t[1]))


def sniff_bytes(head: bytes, name: str = "") -> FileFormat:
    """The format the first bytes (and, for formats without magic bytes, the name) say; ``OTHER`` when none.

    Every format's tests run in the order of their rank (magic at a fixed offset first, heuristics and
    names last), so a DICOM preamble that itself holds a TIFF header is DICOM.
    """
    for _rank, _order, fmt, test in _sniffers():
        if test(head, name):  # type: ignore[operator]
            return fmt
    return FileFormat.OTHER


def _ends(name: str, suffixes: tuple[str, ...]) -> bool:
    return name.lower().endswith(suffixes)


def mime_for_name(name: str) -> str | None:
    """The MIME type of a file by its name's suffix (the longest suffix that any format claims), else None."""
    best: tuple[int, str] | None = None
    for f in all_formats():
        for s in f.suffixes:
            if _ends(name, (s,)) and (best is None or len(s) > best[0]):
                best = (len(s), f.mime)
    return best[1] if best else None


def suffix_guess(name: str) -> FileFormat | None:
    """The format a file's suffix names when its bytes name none, for formats that allow the guess
    (text tables, headerless DICOM, MetaImage headers): what ``covidct new`` writes in a draft card."""
    ext = os.path.splitext(name.lower())[1]
    for f in all_formats():
        if f.suffix_guess and ext in f.suffixes:
            return f.fmt
    return None
