"""Format readers: one module per format family, one small API for the layout interpreter and builder.

>>> from covidct.readers import read, read_header, sort_key, sniff
>>> dec = read("IM0001.dcm")                     # format found by content
>>> dec.array.dtype, dec.intensity, dec.spacing  # int16 Hounsfield units, (0.7, 0.7)
>>> key = sort_key(read_header("IM0001.dcm", FileFormat.DICOM), SortKey.SLICE_LOCATION)

Every fact about a format (its sniffing, reader, MIME type, writer for fixtures) is its entry in
:mod:`covidct.readers.formats`.

Families: ``raster`` (JPEG, PNG, BMP and anything else Pillow opens), ``tiff`` (tifffile),
``dicom`` (pydicom + pylibjpeg), ``nifti`` (nibabel), ``metaimage`` (SimpleITK: .mhd/.raw/.zraw,
.mha, NRRD), ``npy``. Each module has ``read(src, *, mask) -> Decoded`` and ``read_header(src) -> dict``.

No silent loss: 16-bit stays 16-bit, Hounsfield units stay signed, ``mask=True`` keeps palette indices
and every channel; what a reader changes (alpha dropped, palette expanded, colour converted) is said in
``Decoded.meta``. Every failure is a :class:`ReadError` naming the file and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from covidct.card.vocab import FileFormat, SortKey
from covidct.readers._common import INSTALL_HINT, Decoded, MissingLibrary, ReadError, check_regular, describe_path
from covidct.readers._magic import sniff
from covidct.readers.formats import format_of

__all__ = [
    "Decoded",
    "MissingLibrary",
    "ReadError",
    "describe_path",
    "family",
    "library",
    "read",
    "read_dicom_values",
    "read_header",
    "slice_order",
    "sniff",
    "sort_key",
]

def family(fmt: FileFormat | str) -> str | None:
    """The reader module name for a format (``None``: not an image format, e.g. csv)."""
    return format_of(fmt).family


def library(fmt: FileFormat | str) -> str | None:
    """The top-level Python package that reads (and writes) ``fmt`` files, e.g. ``PIL`` for PNG."""
    return format_of(fmt).library


# top-level package → pip name, for the message when a reader's library is missing
_LIBRARIES = {
    "numpy": "numpy", "PIL": "pillow", "tifffile": "tifffile", "pydicom": "pydicom", "nibabel": "nibabel",
    "SimpleITK": "SimpleITK", "pylibjpeg": "pylibjpeg", "libjpeg": "pylibjpeg-libjpeg",
    "openjpeg": "pylibjpeg-openjpeg", "h5py": "h5py",
}  # fmt: skip


def _call(fmt: FileFormat, src: Any, op: str, **kwargs: Any) -> Any:
    """``covidct.readers.<family>.<op>(src, **kwargs)``; a missing library becomes a :class:`ReadError`."""
    try:
        return format_of(fmt).operation(op, src)(src, **kwargs)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in _LIBRARIES:
            raise
        raise MissingLibrary(
            src, f"reading {fmt.value} files needs the Python package {_LIBRARIES[top]}", f"install it: {INSTALL_HINT}"
        ) from None


def _as_format(fmt: FileFormat | str | None, src: Any) -> FileFormat | None:
    if fmt is None or isinstance(fmt, FileFormat):
        return fmt
    try:
        return FileFormat(fmt)
    except ValueError:
        known = ", ".join(f.value for f in FileFormat)
        raise ReadError(src, f"unknown format {fmt!r} (known: {known})") from None


def _other_family(real: FileFormat, declared: FileFormat) -> bool:
    """Whether the content is a known image format read by another reader than the declared one."""
    return real is not FileFormat.OTHER and family(real) not in (None, family(declared))


def _read_as_content(
    path: Any, fmt: FileFormat | str | None, op: str, **kw: Any
) -> tuple[Any, FileFormat | None, bool]:
    """Run reader operation ``op`` for the declared format, or for what the content really is.

    A declared format that the content contradicts (a .jpg that is a BMP) is read by the reader of
    the sniffed format. Returns the result, the declared format (None when none was given) and
    whether the sniffed format's reader was used instead of the declared one.
    """
    declared = _as_format(fmt, path)
    check_regular(path)  # before any library opens it: a FIFO would block, a device never end
    actual = declared if declared is not None else sniff(path)
    start = path.tell() if hasattr(path, "seek") else None
    try:
        return _call(actual, path, op, **kw), declared, False
    except ReadError as err:
        if declared is None or isinstance(err, MissingLibrary):
            raise
        if start is not None:
            path.seek(start)
        real = sniff(path)
        if not _other_family(real, declared):
            raise
        if op != "read":
            return _call(real, path, op, **kw), declared, True
        try:
            return _call(real, path, op, **kw), declared, True
        except ReadError as err2:
            problem = f"declared {declared.value} but the content is {real.value}, and: {err2.problem}"
            raise ReadError(path, problem, err2.hint) from err


def read(path: Any, fmt: FileFormat | str | None = None, *, mask: bool = False) -> Decoded:
    """Decode one file.

    ``path``: a path, or a seekable binary file object (not for MetaImage, whose data is in a second
    file). ``fmt``: the declared format (e.g. from a card); ``None`` sniffs the content. A declared
    format that the content contradicts (a .jpg that is a BMP) is read as what it really is, and
    ``meta["declared_format"]`` records the declaration. ``mask``: the file is a label image: palette
    indices and every channel are kept, no rescaling or colour conversion is applied to rasters.
    """
    dec, declared, _ = _read_as_content(path, fmt, "read", mask=mask)
    if declared is not None and dec.meta.get("real_format") != declared.value:
        dec.meta["declared_format"] = declared.value
    return dec


def read_header(path: Any, fmt: FileFormat | str | None = None) -> dict[str, object]:
    """Cheap metadata without decoding pixels (DICOM: stops before the pixel data).

    For DICOM the dict holds the tags that order slices and identify scans (SliceLocation,
    ImagePositionPatient, ImageOrientationPatient, InstanceNumber, PatientID, SeriesInstanceUID, ...);
    for other formats the shape, dtype and spacing as far as the header says.
    """
    meta, declared, fell_back = _read_as_content(path, fmt, "read_header")
    if fell_back and declared is not None:
        meta["declared_format"] = declared.value
    return meta


def read_dicom_values(path: Any, keywords: tuple[str, ...]) -> dict[str, object]:
    """The values of the DICOM attributes ``keywords`` and of the slice-order attributes in one file, read in
    one pass that stops before the pixel data (:func:`covidct.readers.dicom.read_values`)."""
    check_regular(path)
    return _call(FileFormat.DICOM, path, "read_values", keywords=keywords)  # type: ignore[no-any-return]


def _position(meta: Mapping[str, object]) -> float | None:
    """Position along the slice normal (ImageOrientationPatient), or ImagePositionPatient[2]."""
    ipp = meta.get("ImagePositionPatient")
    if not isinstance(ipp, Sequence) or len(ipp) != 3:
        return None
    try:
        x, y, z = (float(v) for v in ipp)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    iop = meta.get("ImageOrientationPatient")
    if isinstance(iop, Sequence) and len(iop) == 6:
        try:
            r = [float(v) for v in iop[:3]]  # type: ignore[arg-type]
            c = [float(v) for v in iop[3:]]  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return z
        n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
        if any(abs(v) > 1e-6 for v in n):
            return n[0] * x + n[1] * y + n[2] * z
    return z


def _number(meta: Mapping[str, object], name: str) -> float | None:
    value = meta.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


_CHAIN: dict[SortKey, tuple[str, ...]] = {
    SortKey.SLICE_LOCATION: ("SliceLocation", "ImagePositionPatient", "InstanceNumber"),
    SortKey.IMAGE_POSITION_Z: ("ImagePositionPatient", "SliceLocation", "InstanceNumber"),
    SortKey.INSTANCE_NUMBER: ("InstanceNumber",),
}


def _value(meta: Mapping[str, object], name: str) -> float | None:
    return _position(meta) if name == "ImagePositionPatient" else _number(meta, name)


def sort_key(meta: Mapping[str, object], key: SortKey | str) -> float:
    """The number that orders one slice: ``key`` first, then the fallbacks.

    SliceLocation → ImagePositionPatient (position along the slice normal from
    ImageOrientationPatient; ImagePositionPatient[2] without it) → InstanceNumber. Raises
    :class:`ReadError` when none is present. To order a whole scan use :func:`slice_order`, which
    uses one attribute for every slice instead of mixing them.
    """
    chain = _CHAIN[SortKey(key)]
    for name in chain:
        value = _value(meta, name)
        if value is not None:
            return value
    raise ReadError(_where(meta), f"has none of {', '.join(chain)} to order slices by")


def slice_order(
    metas: Sequence[Mapping[str, object]], key: SortKey | str, *, descending: bool = False
) -> list[int]:
    """Indices of ``metas`` in slice order, using the first attribute of the chain that EVERY slice has.

    Mixing SliceLocation of one slice with ImagePositionPatient of another could scramble a scan, so
    the fallback is decided per scan, not per file. Ties keep their input order (stable sort).
    """
    chain = _CHAIN[SortKey(key)]
    for name in chain:
        values = [_value(m, name) for m in metas]
        if all(v is not None for v in values):
            order = sorted(range(len(metas)), key=lambda i: values[i], reverse=descending)  # type: ignore[arg-type,return-value]
            return order
    missing = next((m for m in metas if all(_value(m, n) is None for n in chain)), metas[0] if metas else {})
    raise ReadError(
        _where(missing), f"no attribute among {', '.join(chain)} is present in every slice of the scan"
    )


def _where(meta: Mapping[str, object]) -> str:
    path = meta.get("path")
    if isinstance(path, str):
        return path
    uid = meta.get("SOPInstanceUID")
    return f"<DICOM header SOPInstanceUID={uid}>" if uid else "<header without SOPInstanceUID>"
