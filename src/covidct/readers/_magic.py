"""Telling a file's format from its first bytes: an extension may lie (a .png that is a JPEG)."""

from __future__ import annotations

import gzip
import os
import zlib
from typing import Any

from covidct.card.vocab import FileFormat
from covidct.fsutil import UnsafePath, open_regular
from covidct.readers._common import opening
from covidct.readers.formats import format_of, sniff_bytes

HEAD = 512


def read_head(src: Any, n: int = HEAD) -> bytes:
    """The first ``n`` bytes of a path or of a seekable binary file object (its position is kept)."""
    if hasattr(src, "read"):
        pos = src.tell()
        try:
            return src.read(n)
        finally:
            src.seek(pos)
    with opening(src), open_regular(src) as fh:  # a FIFO, device or folder is refused before it is opened
        return fh.read(n)


def _gunzip_head(src: Any, n: int = HEAD) -> bytes:
    try:
        if hasattr(src, "read"):
            pos = src.tell()
            try:
                return gzip.GzipFile(fileobj=src).read(n)
            finally:
                src.seek(pos)
        with open_regular(src) as raw, gzip.GzipFile(fileobj=raw) as fh:
            return fh.read(n)
    except (OSError, EOFError, zlib.error, UnsafePath):
        return b""


def _name(src: Any) -> str:
    if isinstance(src, (str, os.PathLike)):
        return os.fsdecode(src)
    name = getattr(src, "name", "")
    return name if isinstance(name, str) else ""


def sniff(src: Any) -> FileFormat:
    """The format of a file by its magic bytes (``FileFormat.OTHER`` when unknown).

    Images, DICOM (with or without the 128-byte preamble), NIfTI (also gzipped and .hdr/.img pairs),
    MetaImage (.mhd/.mha header; a .raw/.zraw next to its .mhd), NRRD, NPY, HDF5, XLS/XLSX. Plain text
    tables fall back to their extension, which is all they have.
    """
    head = read_head(src)
    name = _name(src)
    fmt = sniff_bytes(head, name)
    if fmt is FileFormat.OTHER and head[:2] == b"\x1f\x8b":
        inner = sniff_bytes(_gunzip_head(src), name[:-3] if name.lower().endswith(".gz") else name)
        if format_of(inner).gzip_inner:
            return inner
    return fmt
