"""DICOM with pydicom: uncompressed and compressed transfer syntaxes, rescaled to Hounsfield units.

- JPEG (baseline, extended, lossless) and JPEG-LS need ``pylibjpeg`` + ``pylibjpeg-libjpeg``; JPEG 2000
  and HTJ2K ``pylibjpeg-openjpeg``; RLE and deflate decode with pydicom alone. A missing decoder is a
  :class:`ReadError` that says what to install.
- The modality rescale (RescaleSlope/RescaleIntercept, top level or in the shared/per-frame functional
  groups of enhanced multi-frame files) is applied: integral slope and intercept give signed int16
  (int32 when the values do not fit), anything else float32. Intensity is ``hounsfield`` for CT (or
  RescaleType HU); VOI windows are never applied (they are in ``meta`` as WindowCenter/WindowWidth).
- ``mask=True`` returns the stored values (no rescale, no palette applied), e.g. for DICOM SEG.
- One slice gives (rows, cols); a multi-frame file (frames, rows, cols); colour adds a last axis.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from covidct.card.vocab import Intensity
from covidct.readers._common import (
    INSTALL_HINT,
    Decoded,
    MissingLibrary,
    ReadError,
    check_decoded_size,
    damaged,
    gunzipped,
    intensity_of,
    plain,
    rescale,
)
from covidct.readers._dicomscan import check_structure

# What read_header returns (and read puts in meta): ordering, identity, geometry and pixel facts.
HEADER_KEYWORDS: tuple[str, ...] = (
    "PatientID",
    "PatientSex",
    "PatientAge",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "SeriesNumber",
    "AcquisitionNumber",
    "InstanceNumber",
    "SliceLocation",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "Modality",
    "BodyPartExamined",
    "SeriesDescription",
    "ImageType",
    "ConvolutionKernel",
    "KVP",
    "Manufacturer",
    "ManufacturerModelName",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
)
_READ_TAGS = (*HEADER_KEYWORDS, "SpecificCharacterSet", "SharedFunctionalGroupsSequence")

# transfer syntax UID prefix → the decoder package to install when pydicom has none available
_DECODER_PACKAGE = {
    "1.2.840.10008.1.2.4.5": "pylibjpeg-libjpeg",  # JPEG baseline/extended (.50/.51)
    "1.2.840.10008.1.2.4.57": "pylibjpeg-libjpeg",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70": "pylibjpeg-libjpeg",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.8": "pylibjpeg-libjpeg",  # JPEG-LS
    "1.2.840.10008.1.2.4.9": "pylibjpeg-openjpeg",  # JPEG 2000
    "1.2.840.10008.1.2.4.20": "pylibjpeg-openjpeg",  # HTJ2K
}


def _dcmread(src: Any, *, header_only: bool, **options: Any) -> Any:
    import pydicom
    from pydicom.errors import InvalidDicomError

    shown = src
    inner = gunzipped(src)  # the sniffer calls a gzipped DICOM file DICOM (Format.gzip_inner): read what it holds
    if inner is not None:
        src = inner
    pos = src.tell() if hasattr(src, "seek") else None
    check_structure(src, shown, header_only=header_only)  # also bounds a deflated data set's inflated size
    kwargs: dict[str, Any] = {"stop_before_pixels": True, "specific_tags": _READ_TAGS} if header_only else {}
    kwargs.update(options)
    try:
        try:
            return pydicom.dcmread(src, **kwargs)
        except InvalidDicomError:
            # no 128-byte preamble + "DICM": accept a bare data set only when its first bytes say DICOM
            from covidct.card.vocab import FileFormat
            from covidct.readers._magic import sniff

            if pos is not None:
                src.seek(pos)
            if sniff(src) is not FileFormat.DICOM:
                raise
            if pos is not None:
                src.seek(pos)
            return pydicom.dcmread(src, force=True, **kwargs)
    except FileNotFoundError:
        raise ReadError(shown, "no such file") from None
    except InvalidDicomError as exc:
        raise ReadError(shown, f"not a DICOM file ({exc})") from None
    except Exception as exc:  # pydicom raises many kinds on damaged files
        raise damaged(shown, "parse DICOM", exc) from None


def _header(ds: Any) -> dict[str, object]:
    meta: dict[str, object] = {"real_format": "dicom"}
    fm = getattr(ds, "file_meta", None)
    ts = fm.get("TransferSyntaxUID") if fm is not None else None
    if ts is not None:
        meta["TransferSyntaxUID"] = str(ts)
        meta["TransferSyntax"] = getattr(ts, "name", str(ts))
    present = ds.keys()
    for kw, tag, vr in _header_tags():
        if tag not in present:
            continue
        value = _fast_value(ds.get_item(tag), vr)
        if value is _SLOW:
            try:
                value = plain(ds[tag].value)
            except Exception:  # an unparsable value must not hide the others
                continue
        if value is None or value == "" or value == []:
            continue
        meta[kw] = value
    # enhanced multi-frame: geometry and rescale live in the shared functional groups
    shared = _first(ds, "SharedFunctionalGroupsSequence") if _SHARED_FG in present else None
    if shared is not None:
        measures = _first(shared, "PixelMeasuresSequence")
        if measures is not None:
            for kw in ("PixelSpacing", "SliceThickness", "SpacingBetweenSlices"):
                if kw not in meta and measures.get(kw) is not None:
                    meta[kw] = plain(measures.get(kw))
        transform = _first(shared, "PixelValueTransformationSequence")
        if transform is not None:
            for kw in ("RescaleSlope", "RescaleIntercept", "RescaleType"):
                if kw not in meta and transform.get(kw) is not None:
                    meta[kw] = plain(transform.get(kw))
    return meta


_TAGS: list[tuple[str, Any, str]] = []
_SHARED_FG = 0x52009229  # SharedFunctionalGroupsSequence


def _header_tags() -> list[tuple[str, Any, str]]:
    """(keyword, tag, dictionary VR) triples, resolved once."""
    if not _TAGS:
        from pydicom.datadict import dictionary_VR, tag_for_keyword
        from pydicom.tag import Tag

        for kw in HEADER_KEYWORDS:
            tag = Tag(tag_for_keyword(kw))
            _TAGS.append((kw, tag, dictionary_VR(tag)))
    return _TAGS


_SLOW = object()  # "let pydicom convert this one"
_NUMBERS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}
_TEXT = {"CS", "AS", "DA", "TM", "DT", "UI", "SH", "LO", "PN"}


def _fast_value(elem: Any, dict_vr: str) -> Any:
    """The plain value of a raw (not yet converted) element, parsed directly from its bytes.

    pydicom's conversion of a few dozen header elements costs more than reading the file; these VRs
    are simple to parse. Anything unusual (non-ASCII text, sequences, malformed numbers, already
    converted elements) returns ``_SLOW`` and pydicom converts it as usual.
    """
    raw = getattr(elem, "value", None)
    if not isinstance(raw, bytes) or getattr(elem, "is_raw", False) is not True:
        return _SLOW
    return _parse_raw(raw, elem.VR or dict_vr, elem.is_little_endian)


def _parse_raw(raw: bytes, vr: str, little: bool) -> Any:
    """:func:`_fast_value` of the bytes of a value of VR ``vr``."""
    import struct

    if vr in _NUMBERS:
        code = _NUMBERS[vr]
        size = struct.calcsize(code)
        if len(raw) % size:
            return _SLOW
        values = list(struct.unpack(("<" if little else ">") + code * (len(raw) // size), raw))
        return values[0] if len(values) == 1 else values
    if not raw.isascii():
        return _SLOW
    text = raw.decode("ascii").strip(" \x00")
    if vr in ("DS", "IS"):
        try:
            parts = [p.strip() for p in text.split("\\")] if text else []
            values = [float(p) if vr == "DS" else int(p) for p in parts]
        except ValueError:
            return _SLOW
        return values[0] if len(values) == 1 else values
    if vr in _TEXT:
        parts = [p.strip(" \x00") for p in text.split("\\")]
        return parts[0] if len(parts) == 1 else parts
    return _SLOW


# A value a layout reads from a header (`layout.headers`, `where`, the slice order) is at most this long:
# DICOM allows 64 characters for the attributes a layout may name and a few hundred for positions. A longer
# element is refused from its declared length, before its bytes are read (pydicom's ``defer_size``).
MAX_VALUE_BYTES = 1024
ORDER_KEYWORDS = ("SliceLocation", "ImagePositionPatient", "ImageOrientationPatient", "InstanceNumber")
_VALUE_TAGS: dict[tuple[str, ...], list[tuple[str, Any, str]]] = {}


def _value_tags(keywords: tuple[str, ...]) -> list[tuple[str, Any, str]]:
    """(keyword, tag, dictionary VR) of ``keywords`` and the slice-order attributes, resolved once per set."""
    hit = _VALUE_TAGS.get(keywords)
    if hit is None:
        from pydicom.datadict import dictionary_VR, tag_for_keyword
        from pydicom.tag import Tag

        hit = []
        for kw in dict.fromkeys((*keywords, *ORDER_KEYWORDS)):
            number = tag_for_keyword(kw)
            if number is None:
                raise ValueError(f"{kw!r} is not a DICOM keyword")
            tag = Tag(number)
            hit.append((kw, tag, dictionary_VR(tag)))
        _VALUE_TAGS[keywords] = hit
    return hit


_CHARSET = 0x00080005  # SpecificCharacterSet
_PLAIN_CHARSETS = frozenset({"", "ISO_IR 6", "ISO_IR 100", "ISO_IR 192"})  # ASCII bytes mean ASCII text
_WANTED: dict[tuple[str, ...], frozenset[int]] = {}


def read_values(src: Any, keywords: tuple[str, ...]) -> dict[str, object]:
    """The values of ``keywords`` and of the slice-order attributes (:data:`ORDER_KEYWORDS`) in one file.

    One pass over the file: the structure walk that bounds what pydicom would build
    (:func:`~covidct.readers._dicomscan.check_structure`) also collects the raw bytes of these top-level
    elements, parsed by :func:`_parse_raw`. Where the walk or the parser is not sure to give what pydicom
    gives (big endian, deflated, no file meta, another character set, a value pydicom must convert...) the file
    is read again by pydicom (:func:`read_values_pydicom`). Absent or empty attributes are left out. An element
    longer than :data:`MAX_VALUE_BYTES` is a :class:`ReadError`, found from its length alone.
    """
    if hasattr(src, "read"):
        return _read_values_from(src, src, keywords)
    from covidct.fsutil import UnsafePath, open_regular

    try:
        fh = open_regular(src)
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except UnsafePath as exc:
        raise ReadError(src, exc.problem) from None
    with fh:
        return _read_values_from(fh, src, keywords)


def _read_values_from(fh: Any, shown: Any, keywords: tuple[str, ...]) -> dict[str, object]:
    tags = _value_tags(keywords)
    wanted = _WANTED.get(keywords)
    if wanted is None:
        wanted = _WANTED[keywords] = frozenset({_CHARSET, *(int(t) for _k, t, _v in tags)})
    pos = fh.tell()
    inner = gunzipped(fh, shown)
    found = check_structure(fh if inner is None else inner, shown, header_only=True, wanted=wanted,
                            value_limit=MAX_VALUE_BYTES)
    meta = None if found is None else _parsed(found.raw, tags)
    if meta is not None:
        return meta
    if shown is not fh:  # a path: pydicom opens it by name, as it did before (its messages use the name)
        return read_values_pydicom(shown, keywords)
    fh.seek(pos)
    return read_values_pydicom(fh, keywords)


def _parsed(raw: dict[int, tuple[str | None, bytes]], tags: list[tuple[str, Any, str]]) -> dict[str, object] | None:
    """The values of ``raw`` (little endian) as :func:`read_values_pydicom` gives them; None where it could
    differ."""
    charset = raw.get(_CHARSET)
    if charset is not None:
        name = _parse_raw(charset[1], charset[0] or "CS", True)
        if not isinstance(name, str) or name not in _PLAIN_CHARSETS:  # e.g. ISO 2022 escapes in ASCII bytes
            return None
    meta: dict[str, object] = {}
    for kw, tag, dict_vr in tags:
        hit = raw.get(tag)
        if hit is None:
            continue
        value = _parse_raw(hit[1], hit[0] or dict_vr, True)
        if value is _SLOW:
            return None
        if value is None or value == "" or value == []:
            continue
        meta[kw] = value
    return meta


def read_values_pydicom(src: Any, keywords: tuple[str, ...]) -> dict[str, object]:
    """:func:`read_values` by pydicom alone (``src`` read with ``dcmread``), where the one-pass read is unsure."""
    tags = _value_tags(keywords)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's complaints about odd values: the values are checked here
        ds = _dcmread(src, header_only=True, specific_tags=[t for _k, t, _v in tags], defer_size=MAX_VALUE_BYTES)
        present = ds.keys()
        meta: dict[str, object] = {}
        for kw, tag, vr in tags:
            if tag not in present:
                continue
            elem = ds.get_item(tag, keep_deferred=True)  # a deferred (too long) value is never read
            length = getattr(elem, "length", 0) or 0
            if getattr(elem, "value", None) is None and length > MAX_VALUE_BYTES:
                raise ReadError(src, f"its {kw} is {length:,} bytes long; DICOM allows far less (at most "
                                f"{MAX_VALUE_BYTES:,} bytes are read): the file is damaged or not what it claims")
            value = _fast_value(elem, vr)
            if value is _SLOW:
                try:
                    value = plain(ds[tag].value)
                except Exception:  # an unparsable value is absent, not a crash
                    continue
            if value is None or value == "" or value == []:
                continue
            meta[kw] = value
    return meta


def _first(ds: Any, keyword: str) -> Any:
    seq = ds.get(keyword)
    return seq[0] if seq else None


def read_header(src: Any) -> dict[str, object]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta = _header(_dcmread(src, header_only=True))
    _note_warnings(meta, caught)
    return meta


def _note_warnings(meta: dict[str, object], caught: list[warnings.WarningMessage]) -> None:
    """pydicom's complaints (e.g. invalid UID values) go into ``meta["warnings"]``, once per file."""
    if caught:
        meta["warnings"] = sorted({str(w.message) for w in caught})


def _missing_decoder(ts: str) -> str | None:
    """The package to install when no available pydicom plugin decodes this transfer syntax."""
    try:
        from pydicom.pixels import get_decoder

        if get_decoder(ts).is_available:
            return None
    except Exception:  # not a compressed syntax pydicom knows, or no decoder at all
        pass
    return next((pkg for prefix, pkg in _DECODER_PACKAGE.items() if ts.startswith(prefix)), None)


def _pixels(ds: Any, src: Any, meta: dict[str, object]) -> np.ndarray:
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        kind = meta.get("Modality") or meta.get("SOPClassUID") or "this object"
        raise ReadError(src, f"has no pixel data ({kind}); it is not an image")
    ts = str(meta.get("TransferSyntaxUID", ""))
    name = meta.get("TransferSyntax", ts)
    package = _missing_decoder(ts) if ts else None
    if package is not None:
        raise MissingLibrary(src, f"{name} DICOM needs {package}", f"install it: {INSTALL_HINT}")
    check_decoded_size(src, "DICOM header", _declared_shape(meta), _bytes_per_sample(ds, meta))
    try:
        return ds.pixel_array
    except Exception as exc:
        raise damaged(src, f"decode the {name} pixel data", exc) from None


def _int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _declared_shape(meta: dict[str, object]) -> tuple[int, ...]:
    """(frames, rows, columns, samples) as the header declares them (pydicom decodes this many)."""
    names = ("NumberOfFrames", "Rows", "Columns", "SamplesPerPixel")
    return tuple(max(_int(meta.get(n), 1), 1) if n in ("NumberOfFrames", "SamplesPerPixel") else _int(meta.get(n), 0)
                 for n in names)


def _bytes_per_sample(ds: Any, meta: dict[str, object]) -> int:
    if "DoubleFloatPixelData" in ds:
        return 8
    if "FloatPixelData" in ds:
        return 4
    bits = _int(meta.get("BitsAllocated"), 8)
    return 8 if bits > 32 else 4 if bits > 16 else 2 if bits > 8 else 1  # the numpy dtype pydicom decodes to


def _rescale_params(ds: Any, meta: dict[str, object]) -> list[tuple[float, float]] | None:
    """(slope, intercept) per frame, or one pair for all, or None when the file has no rescale."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and "RescaleSlope" not in ds:
        pairs = []
        for item in per_frame:
            t = _first(item, "PixelValueTransformationSequence")
            if t is None or t.get("RescaleSlope") is None:
                pairs = []
                break
            pairs.append((float(t.RescaleSlope), float(t.get("RescaleIntercept", 0.0))))
        if pairs and len(set(pairs)) > 1:
            return pairs
        if pairs:
            return pairs[:1]
    slope, intercept = meta.get("RescaleSlope"), meta.get("RescaleIntercept")
    if slope is None and intercept is None:
        return None
    try:
        pair = (float(1.0 if slope is None else slope), float(0.0 if intercept is None else intercept))  # type: ignore[arg-type]
        return [pair]
    except (TypeError, ValueError):
        return None


def read(src: Any, *, mask: bool = False) -> Decoded:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dec = _read(src, mask)
    _note_warnings(dec.meta, caught)
    return dec


def _read(src: Any, mask: bool) -> Decoded:
    ds = _dcmread(src, header_only=False)
    meta = _header(ds)
    arr = _pixels(ds, src, meta)
    if mask:
        return Decoded(arr, _spacing(meta, arr), Intensity.UNKNOWN, meta)
    photometric = meta.get("PhotometricInterpretation")
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
        meta["palette_applied"] = True
        return Decoded(arr, _spacing(meta, arr), intensity_of(arr.dtype), meta)
    intensity = intensity_of(arr.dtype)
    pairs = _rescale_params(ds, meta) if arr.dtype.kind in "iu" or arr.dtype.kind == "f" else None
    if pairs is not None and (len(pairs) > 1 or pairs[0] != (1.0, 0.0) or _is_hu(meta)):
        if len(pairs) == 1:
            arr = rescale(arr, *pairs[0], owned=True)
        else:
            arr = _rescale_frames(arr, pairs)
            meta["rescale_per_frame"] = True
        meta["rescale_applied"] = True
        intensity = Intensity.HOUNSFIELD if _is_hu(meta) else intensity_of(arr.dtype)
    elif ds.get("ModalityLUTSequence"):
        from pydicom.pixels import apply_modality_lut

        arr = apply_modality_lut(arr, ds)
        meta["modality_lut_applied"] = True
        intensity = Intensity.HOUNSFIELD if _is_hu(meta) else intensity_of(arr.dtype)
    return Decoded(arr, _spacing(meta, arr), intensity, meta)


def _is_hu(meta: dict[str, object]) -> bool:
    return meta.get("Modality") == "CT" or meta.get("RescaleType") == "HU"


def _rescale_frames(arr: np.ndarray, pairs: list[tuple[float, float]]) -> np.ndarray:
    if len(pairs) != arr.shape[0]:
        raise ValueError(f"{len(pairs)} per-frame rescale values for {arr.shape[0]} frames")
    frames = [rescale(arr[i], s, b) for i, (s, b) in enumerate(pairs)]
    dtype = np.result_type(*frames)
    return np.stack([f.astype(dtype, copy=False) for f in frames])


def _spacing(meta: dict[str, object], arr: np.ndarray) -> tuple[float, ...] | None:
    inplane = meta.get("PixelSpacing") or meta.get("ImagerPixelSpacing")
    if not isinstance(inplane, list) or len(inplane) != 2:
        return None
    try:
        row, col = float(inplane[0]), float(inplane[1])
    except (TypeError, ValueError):
        return None
    frames = int(meta.get("NumberOfFrames") or 1)  # type: ignore[call-overload]
    if frames <= 1:
        return (row, col)
    between = meta.get("SpacingBetweenSlices")
    if between is None:
        return None  # the distance between frames is not in the file
    return (abs(float(between)), row, col)  # type: ignore[arg-type]
