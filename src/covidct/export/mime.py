"""MIME types of the file and archive formats a card names: the one table Croissant and schema.org use.

(A format registry may take this table over; until then it lives here, and nowhere else.)
``application/gzip`` is the registered type of gzip (RFC 6713), for ``.gz`` and ``.tar.gz`` alike;
``application/x-gzip`` is its old unregistered alias.
"""

from __future__ import annotations

from covidct.card.vocab import ArchiveFormat, FileFormat

MIME: dict[FileFormat, str] = {
    FileFormat.JPEG: "image/jpeg",
    FileFormat.PNG: "image/png",
    FileFormat.BMP: "image/bmp",
    FileFormat.TIFF: "image/tiff",
    FileFormat.DICOM: "application/dicom",
    FileFormat.NIFTI: "application/x-nifti",
    FileFormat.METAIMAGE: "application/x-metaimage",
    FileFormat.NRRD: "application/x-nrrd",
    FileFormat.NPY: "application/x-npy",
    FileFormat.HDF5: "application/x-hdf5",
    FileFormat.CSV: "text/csv",
    FileFormat.TSV: "text/tab-separated-values",
    FileFormat.XLS: "application/vnd.ms-excel",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileFormat.TXT: "text/plain",
    FileFormat.JSON: "application/json",
    FileFormat.XML: "application/xml",
    FileFormat.OTHER: "application/octet-stream",
}
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
def mime_for_name(name: str) -> str:
    low = name.lower()
    for ext, fmt in (
        (".csv", FileFormat.CSV),
        (".tsv", FileFormat.TSV),
        (".xlsx", FileFormat.XLSX),
        (".xls", FileFormat.XLS),
        (".txt", FileFormat.TXT),
        (".json", FileFormat.JSON),
        (".npy", FileFormat.NPY),
        (".nii", FileFormat.NIFTI),
        (".nii.gz", FileFormat.NIFTI),
        (".dcm", FileFormat.DICOM),
        (".png", FileFormat.PNG),
        (".jpg", FileFormat.JPEG),
        (".jpeg", FileFormat.JPEG),
        (".tif", FileFormat.TIFF),
        (".tiff", FileFormat.TIFF),
        (".mhd", FileFormat.METAIMAGE),
        (".h5", FileFormat.HDF5),
    ):
        if low.endswith(ext):
            return MIME[fmt]
    for ext, arch in (
        (".zip", ArchiveFormat.ZIP),
        (".tar.gz", ArchiveFormat.TAR_GZ),
        (".tgz", ArchiveFormat.TAR_GZ),
        (".tar", ArchiveFormat.TAR),
        (".tar.bz2", ArchiveFormat.TAR_BZ2),
        (".tar.xz", ArchiveFormat.TAR_XZ),
        (".7z", ArchiveFormat.SEVEN_Z),
        (".rar", ArchiveFormat.RAR),
    ):
        if low.endswith(ext):
            return ARCHIVE_MIME[arch]
    return MIME[FileFormat.OTHER]
