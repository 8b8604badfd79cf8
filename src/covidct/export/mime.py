"""MIME types of what a card names for download: its archives here, its file formats from the format registry.

A file format's MIME type is a fact of its entry in :mod:`covidct.readers.formats` (one home); archives
are not file formats (nothing reads them as images), so their types live here. ``application/gzip`` is the
registered type of gzip (RFC 6713), for ``.gz`` and ``.tar.gz`` alike; ``application/x-gzip`` is its old
unregistered alias.
"""

from __future__ import annotations

from covidct.card.vocab import ArchiveFormat, FileFormat
from covidct.readers.formats import format_of
from covidct.readers.formats import mime_for_name as format_mime_for_name

ARCHIVE_MIME: dict[ArchiveFormat, str] = {
    ArchiveFormat.ZIP: "application/zip",
    ArchiveFormat.TAR: "application/x-tar",
    ArchiveFormat.TAR_GZ: "application/gzip",
    ArchiveFormat.TAR_BZ2: "application/x-bzip2",
    ArchiveFormat.TAR_XZ: "application/x-xz",
    ArchiveFormat.GZ: "application/gzip",
    ArchiveFormat.BZ2: "application/x-bzip2",
    ArchiveFormat.XZ: "application/x-xz",
    ArchiveFormat.SEVEN_Z: "application/x-7z-compressed",
    ArchiveFormat.RAR: "application/vnd.rar",
    ArchiveFormat.NONE: "application/octet-stream",
}
ARCHIVE_SUFFIXES: tuple[tuple[str, ArchiveFormat], ...] = (
    (".tar.gz", ArchiveFormat.TAR_GZ),
    (".tgz", ArchiveFormat.TAR_GZ),
    (".tar.bz2", ArchiveFormat.TAR_BZ2),
    (".tar.xz", ArchiveFormat.TAR_XZ),
    (".tar", ArchiveFormat.TAR),
    (".zip", ArchiveFormat.ZIP),
    (".7z", ArchiveFormat.SEVEN_Z),
    (".rar", ArchiveFormat.RAR),
    (".gz", ArchiveFormat.GZ),
    (".bz2", ArchiveFormat.BZ2),
    (".xz", ArchiveFormat.XZ),
)


def mime_for_name(name: str) -> str:
    """The MIME type of a downloaded file, from its name: a file format's, else an archive's, else bytes."""
    low = name.lower()
    mime = format_mime_for_name(low)
    if mime is not None:
        return mime
    for ext, arch in ARCHIVE_SUFFIXES:
        if low.endswith(ext):
            return ARCHIVE_MIME[arch]
    return format_of(FileFormat.OTHER).mime
