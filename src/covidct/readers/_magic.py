"""Telling a file's format from its first bytes: an extension may lie (a .png that is a JPEG)."""

from __future__ import annotations

import gzip
import os
import re
import zlib
from typing import Any

from covidct.card.vocab import FileFormat
from covidct.fsutil import UnsafePath, open_regular
from covidct.readers._common import ReadError

HEAD = 512

_METAIMAGE_KEYS = re.compile(
    rb"^\s*(ObjectType|ObjectSubType|NDims|DimSize|ElementType|ElementDataFile|ElementSpacing|"
    rb"ElementSize|BinaryData|BinaryDataByteOrderMSB|ElementByteOrderMSB|CompressedData|"
    rb"CompressedDataSize|TransformMatrix|Offset|Position|Origin|CenterOfRotation|Rotation|"
    rb"AnatomicalOrientation|HeaderSize|Modality|Comment|Name|ID|ParentID|Color)\s*=",
)

_BY_SUFFIX = {
    ".csv": FileFormat.CSV,
    ".tsv": FileFormat.TSV,
    ".txt": FileFormat.TXT,
    ".json": FileFormat.JSON,
    ".xml": FileFormat.XML,
}


def read_head(src: Any, n: int = HEAD) -> bytes:
    """The first ``n`` bytes of a path or of a seekable binary file object (its position is kept)."""
    if hasattr(src, "read"):
        pos = src.tell()
        try:
            return src.read(n)
        finally:
            src.seek(pos)
    try:
        with open_regular(src) as fh:  # a FIFO, device or folder is refused before it is opened
            return fh.read(n)
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except UnsafePath as exc:
        raise ReadError(src, exc.problem) from None
    except OSError as exc:
        raise ReadError(src, f"cannot open ({exc.strerror or exc})") from None


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


def _sibling(name: str, suffixes: tuple[str, ...]) -> bool:
    stem = os.path.splitext(name)[0]
    return any(os.path.isfile(stem + s) for s in suffixes)


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
        if inner in (FileFormat.NIFTI, FileFormat.DICOM, FileFormat.NPY):
            return inner
    return fmt


def sniff_bytes(head: bytes, name: str = "") -> FileFormat:
    lower = name.lower()
    if head[128:132] == b"DICM":  # first: a DICOM preamble may itself hold a TIFF header (CT_small.dcm)
        return FileFormat.DICOM
    if head.startswith(b"\xff\xd8\xff"):
        return FileFormat.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileFormat.PNG
    if head.startswith(b"BM") and len(head) >= 26:
        return FileFormat.BMP
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return FileFormat.TIFF
    if len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00"):
        return FileFormat.NIFTI
    if len(head) >= 8 and head[4:8] in (b"n+2\x00", b"ni2\x00"):
        return FileFormat.NIFTI
    if head.startswith(b"\x93NUMPY"):
        return FileFormat.NPY
    if head.startswith(b"NRRD000"):
        return FileFormat.NRRD
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return FileFormat.HDF5
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return FileFormat.XLS
    if head.startswith(b"PK\x03\x04") and lower.endswith((".xlsx", ".xlsm")):
        return FileFormat.XLSX
    if _METAIMAGE_KEYS.match(head):
        return FileFormat.METAIMAGE
    if _looks_like_bare_dicom(head):
        return FileFormat.DICOM
    if len(head) >= 348 and int.from_bytes(head[:4], "little") == 348 and lower.endswith(".hdr"):
        return FileFormat.NIFTI  # Analyze 7.5 header (no magic)
    if name:
        if lower.endswith((".raw", ".zraw")) and _sibling(name, (".mhd", ".MHD")):
            return FileFormat.METAIMAGE
        if lower.endswith(".img") and _sibling(name, (".hdr", ".HDR")):
            return FileFormat.NIFTI
        fmt = _BY_SUFFIX.get(os.path.splitext(lower)[1])
        if fmt is not None:
            return fmt
    return FileFormat.OTHER


def _looks_like_bare_dicom(head: bytes) -> bool:
    """A DICOM stream without preamble: starts with a group 0002/0008 element, explicit or implicit VR."""
    if len(head) < 12:
        return False
    group = int.from_bytes(head[0:2], "little")
    element = int.from_bytes(head[2:4], "little")
    if group not in (0x0002, 0x0008) or element > 0x0100:
        return False
    vr = head[4:6]
    if vr.isalpha() and vr.isupper():
        return True
    length = int.from_bytes(head[4:8], "little")  # implicit VR: a 32-bit length
    return length < 1024
