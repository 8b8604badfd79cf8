"""MetaImage (.mhd + .raw/.zraw, single-file .mha) and NRRD with SimpleITK.

- The array is SimpleITK's (z, y, x) view of the (x, y, z) image (a 2D image gives (y, x), vector
  pixels add a last axis); ``spacing`` is ElementSpacing reversed to that order (ITK's unit: mm).
- Origin, direction and the header's key/value pairs are in ``meta``; nothing is resampled.
- A .raw/.zraw given instead of its header is read through the .mhd of the same name.
- MetaImage needs paths (its data live in a second file): a file object is a :class:`ReadError`.
- The data file a header names (MetaImage ``ElementDataFile``, NRRD ``data file``) must be a regular
  file inside the header's folder: a header in a downloaded dataset cannot make ITK read
  ``/etc/passwd`` or a FIFO. Lists and printf-style patterns of data files are refused.
"""

from __future__ import annotations

import os
from typing import Any

from covidct.fsutil import UnsafePath, open_regular
from covidct.readers._common import (
    Decoded,
    ReadError,
    check_decoded_size,
    companion,
    count_inflated,
    intensity_of,
)

_FORMAT_BY_IO = {"MetaImageIO": "metaimage", "NrrdImageIO": "nrrd"}


def _header_path(src: Any) -> str:
    if hasattr(src, "read") or not isinstance(src, (str, os.PathLike)):
        raise ReadError(src, "MetaImage/NRRD is read from a path only (its data may be in a second file)")
    path = os.fspath(src)
    stem, ext = os.path.splitext(path)
    if ext.lower() in (".raw", ".zraw"):
        header = next((stem + suffix for suffix in (".mhd", ".MHD") if os.path.isfile(stem + suffix)), None)
        if header is None:
            raise ReadError(src, f"is MetaImage data without its header: {os.path.basename(stem)}.mhd is missing")
        path = companion(path, os.path.basename(header), "header")
    elif not os.path.isfile(path):
        raise ReadError(src, "no such file")
    _check_references(path)
    return path


HEADER_LIMIT = 65536  # a MetaImage or NRRD header longer than this (before its data) is refused


def _check_references(path: str) -> None:
    """Refuse a header whose data file is not a regular file beside it (ITK would read anything)."""
    try:
        with open_regular(path) as fh:
            head = fh.read(HEADER_LIMIT)
    except UnsafePath as exc:
        raise ReadError(path, exc.problem) from None
    except OSError as exc:
        raise ReadError(path, f"cannot open ({exc.strerror or exc})") from None
    nrrd = head.startswith(b"NRRD")
    end = None
    for line in head.decode("latin-1").splitlines():
        if nrrd:
            if not line.strip():
                end = "data"  # a blank line ends an NRRD header: the data are attached
                break
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() in ("data file", "datafile"):
                _check_data_name(path, value.strip().lstrip("=").strip(), "data file")
                end = "file"
                break
        else:
            key, sep, value = line.partition("=")
            if sep and key.strip() == "ElementDataFile":
                name = value.strip()
                if name.upper() != "LOCAL":
                    _check_data_name(path, name, "ElementDataFile")
                end = "file"
                break
    if end is None and len(head) >= HEADER_LIMIT:
        raise ReadError(path, f"its header is longer than {HEADER_LIMIT:,} bytes without naming its data; refused")


def _check_data_name(path: str, name: str, field: str) -> None:
    if name.upper() == "LIST" or (("%" in name) and not os.path.lexists(os.path.join(os.path.dirname(path), name))):
        raise ReadError(path, f"its {field} {name!r} is a list or pattern of files, which covidct does not read",
                        "convert it to one data file beside the header")
    companion(path, name, "data file")


def _itk_problem(exc: BaseException) -> str:
    """SimpleITK errors are long C++ traces: keep the line that says what went wrong."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for marker in ("Description:", "ITK ERROR:"):
        for ln in lines:
            if marker in ln:
                text = ln.split(marker, 1)[1].strip()
                return text.split("): ", 1)[1] if "): " in text else text
    return lines[-1] if lines else type(exc).__name__


_ELEMENT_BYTES = {
    "MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4, "MET_UINT": 4,
    "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8, "MET_ULONG_LONG": 8, "MET_FLOAT": 4, "MET_DOUBLE": 8,
}  # fmt: skip


def _header_fields(path: str) -> tuple[dict[str, str], int]:
    """A MetaImage header's ``key = value`` fields up to ElementDataFile, and the byte offset just after
    that line (where the data of ``ElementDataFile = LOCAL`` start)."""
    fields: dict[str, str] = {}
    offset = 0
    with open(path, "rb") as fh:
        head = fh.read(HEADER_LIMIT)
    for raw in head.split(b"\n"):
        offset += len(raw) + 1
        key, sep, value = raw.decode("latin-1").partition("=")
        if sep:
            fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            break
    return fields, offset


def _declared_bytes(path: str, fields: dict[str, str]) -> int | None:
    """DimSize x channels x element size, refused past the decoded-size limit; None when not given plainly."""
    try:
        dims = [int(n) for n in fields.get("DimSize", "").split()]
        channels = int(fields.get("ElementNumberOfChannels", "1"))
        size = _ELEMENT_BYTES[fields.get("ElementType", "")]
    except (KeyError, ValueError):
        return None
    if not dims:
        return None
    return check_decoded_size(path, "MetaImage/NRRD header", [*dims, channels], size)


def _check_compressed(path: str, data: str, offset: int, fields: dict[str, str]) -> None:
    """Compressed data (``CompressedData = True``: a .zraw, or zlib after a LOCAL header) must inflate to
    exactly the size the header declares.

    ITK inflates into a buffer of the declared size and, when the stream is short or not zlib at all,
    prints to stderr and returns the buffer as it is: a damaged .zraw would load as a volume of zeros.
    Inflated here first, counted and dropped chunk by chunk (bounded by the declared size, itself
    bounded by the decoded-size limit), so a bomb costs time linear in what it declares.
    """
    import zlib

    from covidct.numtext import int_text

    need = _declared_bytes(path, fields)
    if need is None:
        return  # ITK judges a header it cannot size
    what = "its compressed data" + ("" if data == path else f" {os.path.basename(data)}")
    stored = int_text(fields.get("CompressedDataSize", ""))
    try:
        with open_regular(data) as fh:
            fh.seek(offset)
            total, ended = count_inflated(fh, zlib.decompressobj(), need, stored if stored and stored > 0 else None)
    except zlib.error as exc:
        raise ReadError(path, f"{what} cannot be inflated (zlib: {exc}); the data file is damaged or not "
                        "zlib-compressed although the header says CompressedData = True") from None
    except (OSError, UnsafePath) as exc:
        raise ReadError(path, f"{what} cannot be read ({getattr(exc, 'problem', None) or exc})") from None
    if total > need:
        raise ReadError(path, f"{what} inflate to more than the {need:,} bytes the header declares (DimSize x "
                        "element size); the header does not describe this data")
    if total < need or not ended:
        raise ReadError(path, f"{what} inflate to {total:,} bytes{'' if ended else ' and stop mid-stream'}, but "
                        f"the header declares {need:,}; the data file is truncated or damaged")


def _check_data_file(path: str) -> str | None:
    """A clear error for a .mhd/.mha whose data are missing, short or (compressed) do not inflate to the
    declared size (ITK's own messages are misleading, or it reads zeros without a word).

    Returns the data file's name when ITK would misread it as a printf-style file pattern (a name with
    ``%``, e.g. ``lung 50%.raw``, that exists as such), so that :func:`_read_literal` reads it instead.
    """
    if os.path.splitext(path)[1].lower() not in (".mhd", ".mha"):
        return None
    fields, offset = _header_fields(path)
    name = fields.get("ElementDataFile", "")
    compressed = fields.get("CompressedData", "False").lower() == "true"
    if name.upper() == "LOCAL":
        if compressed:
            _check_compressed(path, path, offset, fields)
        elif (need := _declared_bytes(path, fields)) is not None and os.path.getsize(path) - offset < need:
            have = max(os.path.getsize(path) - offset, 0)
            raise ReadError(path, f"has {have} bytes of data after its header but the header needs {need}; "
                            "it is truncated")
        return None
    if not name or name.upper() == "LIST":  # a list of files
        return None
    data = os.path.join(os.path.dirname(path), name)
    if not os.path.isfile(data):
        if "%" in name or " " in name:  # maybe a pattern or list of slice files; let ITK judge
            return None
        raise ReadError(path, f"its data file {name} is missing")
    literal = name if "%" in name else None  # the file exists under this very name: not a pattern
    if compressed:
        _check_compressed(path, data, 0, fields)
        return literal
    try:
        count = 1
        for n in fields.get("DimSize", "").split():
            count *= int(n)
        count *= int(fields.get("ElementNumberOfChannels", "1"))
        need = count * _ELEMENT_BYTES[fields.get("ElementType", "")] + max(int(fields.get("HeaderSize", "0")), 0)
    except (KeyError, ValueError):
        return literal
    have = os.path.getsize(data)
    if have < need:
        raise ReadError(path, f"its data file {name} has {have} bytes but the header needs {need}; it is truncated")
    return literal


def _read_literal(path: str, name: str) -> Any:
    """Read a .mhd whose data file name ITK would take for a pattern, through a safely named link."""
    import re
    import tempfile

    import SimpleITK as sitk

    text = open(path, encoding="latin-1").read()  # noqa: SIM115 - small header
    with tempfile.TemporaryDirectory(prefix="covidct-mhd-") as tmp:
        link = os.path.join(tmp, "data" + os.path.splitext(name)[1])
        try:
            os.symlink(os.path.abspath(os.path.join(os.path.dirname(path), name)), link)
        except OSError:
            raise ReadError(
                path, f"ITK cannot read a data file named {name!r} (it takes % for a pattern)",
                "rename it and its ElementDataFile",
            ) from None
        header = os.path.join(tmp, "header.mhd")
        with open(header, "w", encoding="latin-1") as fh:
            safe = os.path.basename(link)
            fh.write(re.sub(r"(?m)^(\s*ElementDataFile\s*=).*$", lambda m: f"{m.group(1)} {safe}", text))
        reader = sitk.ImageFileReader()
        reader.SetFileName(header)
        _check_size(path, reader)
        return reader, reader.Execute()


def _check_size(src: Any, reader: Any) -> None:
    """DimSize x components x element size from the header, against the decoded-size limit (before Execute)."""
    import re

    import SimpleITK as sitk

    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise ReadError(src, f"cannot read the header ({_itk_problem(exc)})") from None
    kind = sitk.GetPixelIDValueAsString(reader.GetPixelID())  # "16-bit signed integer", "vector of 32-bit float"
    bits = re.search(r"(\d+)-bit", kind)
    size = (int(bits.group(1)) // 8 if bits else 8) * (2 if "complex" in kind else 1)
    shape = [*reader.GetSize(), max(int(reader.GetNumberOfComponents()), 1)]
    check_decoded_size(src, "MetaImage/NRRD header", shape, size)


def _reader(src: Any) -> Any:
    import SimpleITK as sitk

    path = _header_path(src)
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    return reader


def _meta(reader: Any, image: Any = None) -> dict[str, object]:
    """Geometry and header facts, from the image once read, else from the reader's header pass."""
    import SimpleITK as sitk

    src = image if image is not None else reader
    pixel_id = image.GetPixelID() if image is not None else reader.GetPixelID()
    comps = image.GetNumberOfComponentsPerPixel() if image is not None else reader.GetNumberOfComponents()
    keys = src.GetMetaDataKeys()
    header = {k: src.GetMetaData(k) for k in keys if not k.startswith("ITK_original_")}
    io = header.pop("ITK_InputFilterName", "")
    meta: dict[str, object] = {
        "real_format": _FORMAT_BY_IO.get(io, "metaimage"),
        "size_xyz": [int(n) for n in src.GetSize()],
        "spacing_xyz": [float(s) for s in src.GetSpacing()],
        "origin": [float(o) for o in src.GetOrigin()],
        "direction": [float(d) for d in src.GetDirection()],
        "pixel_type": sitk.GetPixelIDValueAsString(pixel_id),
        "components": int(comps),
    }
    if header:
        meta["header"] = header
    return meta


def read(src: Any, *, mask: bool = False) -> Decoded:
    import SimpleITK as sitk

    reader = _reader(src)
    literal = _check_data_file(reader.GetFileName())
    try:
        if literal is not None:
            reader, image = _read_literal(reader.GetFileName(), literal)
        else:
            _check_size(src, reader)
            image = reader.Execute()
        arr = sitk.GetArrayFromImage(image)
    except RuntimeError as exc:
        problem = f"cannot read the image ({_itk_problem(exc)}); the file may be truncated or damaged"
        raise ReadError(src, problem) from None
    meta = _meta(reader, image)
    spacing = tuple(reversed(meta["spacing_xyz"]))  # type: ignore[call-overload]
    return Decoded(arr, spacing, intensity_of(arr.dtype, mask=mask), meta)


def read_header(src: Any) -> dict[str, object]:
    reader = _reader(src)
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise ReadError(src, f"cannot read the header ({_itk_problem(exc)})") from None
    meta = _meta(reader)
    meta["shape"] = list(reversed(meta["size_xyz"]))  # type: ignore[call-overload]
    meta["spacing"] = tuple(reversed(meta["spacing_xyz"]))  # type: ignore[call-overload]
    return meta
