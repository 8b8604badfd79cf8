"""Annotations as labels: DICOM RT Structure Sets, DICOM SEG and LIDC-IDRI reading XML.

Pure functions from one untrusted file to typed dataclasses; :func:`rasterize` turns regions into masks
on a series' slices. Readers keep every reader's marks separate (``Region.reader``); merging them is
:func:`consensus`, which a card asks for explicitly.

- RTSTRUCT (pydicom): ``StructureSetROISequence`` names, ``ROIContourSequence`` closed planar contours in
  patient coordinates (mm). A contour lands on the slice its ``ContourImageSequence`` names
  (ReferencedSOPInstanceUID) or, without one, on the slice whose plane holds it; points become pixel
  coordinates through the slice's ImagePositionPatient, ImageOrientationPatient and PixelSpacing.
- SEG (highdicom): each segment's frames, as masks keyed by the source image's SOPInstanceUID.
- LIDC-IDRI XML (``LidcReadMessage``): per ``readingSession`` (one radiologist) the ``unblindedReadNodule``
  contours (``roi``: ``imageSOP_UID``, ``imageZposition``, ``inclusion``, ``edgeMap`` pixel coordinates)
  and ``characteristics`` (subtlety ... malignancy, 1-5 or 1-6); nodules under 3 mm are one point per
  slice (``small-nodule``), ``nonNodule`` a ``locus`` point. The format is described in the LIDC XML
  documentation (https://wiki.cancerimagingarchive.net/download/attachments/1966254/LIDC_XML_Documentation_1_Jan_2009.doc).
- PASCAL VOC XML (``voc-xml``, as LabelImg writes it; Lung-PET-CT-Dx): one file per annotated slice, named by
  the slice's SOPInstanceUID (the file stem is the match key; the file itself names no UID), one ``object``
  per box (``name``, ``bndbox`` with ``xmin``, ``ymin``, ``xmax``, ``ymax`` in pixels).

Bounds (every input is untrusted): files at most :data:`MAX_FILE_BYTES` (XML :data:`MAX_XML_BYTES`, one VOC
file :data:`MAX_VOC_BYTES` and :data:`MAX_BOXES` objects); at most :data:`MAX_POINTS` points
and :data:`MAX_CONTOURS` contours per file; coordinates finite. XML with a DOCTYPE, an entity declaration or
any ``<!`` markup other than comments and CDATA is refused before parsing (no entity expansion, no
external entities), and the markup is counted before expat parses it. Every failure is a :class:`ReadError`.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from covidct.card.vocab import LIDC_CHARACTERISTICS
from covidct.readers._common import (
    INSTALL_HINT,
    MissingLibrary,
    ReadError,
    check_decoded_size,
    check_regular,
    damaged,
    plain,
)
from covidct.readers._dicomscan import check_structure

if TYPE_CHECKING:
    import numpy

FORMATS = ("rtstruct", "seg", "lidc-xml", "voc-xml")
MAX_FILE_BYTES = 256 << 20  # an RTSTRUCT of a whole-body scan with dozens of structures is tens of MB
MAX_XML_BYTES = 16 << 20  # real LIDC-IDRI XML files are at most a few MB
# Tags (counted as "<" before parsing, so at most half as many elements): 100,000 LIDC contour points, 8 tags
# each (069.xml of LIDC-IDRI-0001 has 310 kB, a few thousand points). Bounds the parsed tree to about 150 MB.
MAX_XML_MARKUP = 800_000
MAX_POINTS = 2_000_000  # points in one file (all contours): 48 MB as float64 (x, y, z)
MAX_CONTOURS = 200_000
MAX_VOC_BYTES = 1 << 20  # a VOC file boxes one slice: the real Lung-PET-CT-Dx ones have about 540 bytes per box
MAX_BOXES = 10_000  # objects in one VOC file (one slice): real Lung-PET-CT-Dx files have one or two
MAX_COORD = 1e7  # mm or pixels: anything larger is not a position in a scan


@dataclass(frozen=True)
class Contour:
    """One closed planar contour (or a single point).

    ``points``: (n, 2) pixel coordinates (x = column, y = row) for LIDC, or (n, 3) patient coordinates (mm)
    for RTSTRUCT until :func:`rasterize` maps them onto a slice. ``sop_instance_uid``: the slice it is
    drawn on when the file says; ``z``: its position (LIDC imageZposition) otherwise. ``inclusion`` False:
    the area is cut out of the region (LIDC).
    """

    points: numpy.ndarray
    sop_instance_uid: str | None = None
    z: float | None = None
    inclusion: bool = True


@dataclass
class Region:
    """One named thing a reader marked: an RTSTRUCT ROI, a SEG segment, an LIDC nodule.

    ``kind``: ``roi``, ``segment``, ``nodule``, ``small-nodule`` (LIDC < 3 mm: points) or ``non-nodule``.
    ``reader``: who marked it (LIDC servicingRadiologistID, RTSTRUCT/SEG content creator), ``None`` when the
    file does not say. ``masks``: SEG pixels, source SOPInstanceUID → (rows, cols) bool array.
    """

    name: str
    kind: str
    id: str
    reader: str | None = None
    contours: list[Contour] = field(default_factory=list)
    masks: dict[str, numpy.ndarray] = field(default_factory=dict)
    characteristics: dict[str, int] = field(default_factory=dict)


@dataclass
class AnnotationSet:
    """What one annotation file holds. ``series_uid``: the image series it refers to (the match key)."""

    format: str
    series_uid: str | None
    regions: list[Region]
    study_uid: str | None = None

    @property
    def readers(self) -> list[str | None]:
        """The distinct readers, in file order."""
        return list(dict.fromkeys(r.reader for r in self.regions))


@dataclass(frozen=True)
class SliceGeometry:
    """Where one image slice lies: from its header (ImagePositionPatient etc.)."""

    sop_instance_uid: str
    rows: int
    cols: int
    position: tuple[float, float, float] | None = None
    orientation: tuple[float, float, float, float, float, float] | None = None
    spacing: tuple[float, float] | None = None  # PixelSpacing: (between rows, between columns) in mm

    @classmethod
    def from_header(cls, meta: Mapping[str, object]) -> SliceGeometry:
        """From :func:`covidct.readers.read_header` values; missing geometry stays None."""
        def floats(name: str, n: int) -> tuple[float, ...] | None:
            value = plain(meta.get(name))
            if not isinstance(value, list) or len(value) != n:
                return None
            try:
                out = tuple(float(v) for v in value)
            except (TypeError, ValueError):
                return None
            return out if all(math.isfinite(v) for v in out) else None

        return cls(
            sop_instance_uid=str(meta.get("SOPInstanceUID", "")),
            rows=int(meta.get("Rows", 0) or 0),  # type: ignore[call-overload]
            cols=int(meta.get("Columns", 0) or 0),  # type: ignore[call-overload]
            position=floats("ImagePositionPatient", 3),  # type: ignore[arg-type]
            orientation=floats("ImageOrientationPatient", 6),  # type: ignore[arg-type]
            spacing=floats("PixelSpacing", 2),  # type: ignore[arg-type]
        )


def read_annotations(path: str | os.PathLike[str], fmt: str) -> AnnotationSet:
    """Read one annotation file of format ``fmt`` (one of :data:`FORMATS`)."""
    readers = {"rtstruct": read_rtstruct, "seg": read_seg, "lidc-xml": read_lidc_xml, "voc-xml": read_voc_xml}
    if fmt not in readers:
        raise ReadError(path, f"unknown annotation format {fmt!r} (known: {', '.join(FORMATS)})")
    return readers[fmt](path)


def referenced_series(path: str | os.PathLike[str], fmt: str) -> tuple[bool, str | None]:
    """(whether the file is of format ``fmt``, the SeriesInstanceUID of the images it annotates), read cheaply:
    DICOM only the referencing sequences, not the contours or pixels. Damaged files are a :class:`ReadError`.
    A VOC file names no series: it is matched by the slice it is named after (:func:`voc_slice_uid`)."""
    if fmt == "voc-xml":
        raise ValueError("voc-xml files are matched by their slice's SOPInstanceUID, not by series")
    if fmt == "lidc-xml":
        return True, read_lidc_xml(path).series_uid
    import pydicom

    _check_size(path, MAX_FILE_BYTES)
    check_structure(path, path, header_only=True)
    tags = ["SOPClassUID", "ReferencedSeriesSequence", "ReferencedFrameOfReferenceSequence"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=tags)
            if str(ds.get("SOPClassUID", "")) != (RTSTRUCT_SOP_CLASS if fmt == "rtstruct" else SEG_SOP_CLASS):
                return False, None
            if fmt == "rtstruct":
                return True, _rtstruct_series(ds)
            refs = ds.get("ReferencedSeriesSequence") or []
            return True, (_text(refs[0].get("SeriesInstanceUID"), 64) or None) if refs else None
    except Exception as exc:  # pydicom raises many kinds on damaged files
        raise damaged(path, f"read the {fmt} header", exc) from None


def _check_size(path: Any, limit: int) -> None:
    check_regular(path)
    size = os.stat(path).st_size
    if size > limit:
        raise ReadError(path, f"is {size:,} bytes, more than the {limit:,} an annotation file may have; refused")


class _Budget:
    """Counts contours and points of one file against the bounds."""

    def __init__(self, path: Any) -> None:
        self.path, self.contours, self.points = path, 0, 0

    def check(self, points: int) -> None:
        """Refuse before reading ``points`` more when they would exceed the bound."""
        if self.points + points > MAX_POINTS:
            raise ReadError(self.path, f"has more than {MAX_POINTS:,} contour points; refused")

    def add(self, points: int) -> None:
        self.check(points)
        self.contours += 1
        self.points += points
        if self.contours > MAX_CONTOURS:
            raise ReadError(self.path, f"has more than {MAX_CONTOURS:,} contours; refused")


def _finite(path: Any, pts: numpy.ndarray, where: str) -> numpy.ndarray:
    import numpy as np

    if pts.size and not (np.isfinite(pts).all() and float(np.abs(pts).max()) <= MAX_COORD):
        raise ReadError(path, f"{where} has a coordinate that is not a finite position (NaN, infinite or beyond "
                        f"{MAX_COORD:g}); the file is damaged")
    return pts


# --------------------------------------------------------------------------------------------- RTSTRUCT

RTSTRUCT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
_CONTOUR_DATA = 0x30060050


def _dataset(path: Any, sop_class: str, what: str) -> Any:
    import pydicom

    _check_size(path, MAX_FILE_BYTES)
    check_structure(path, path, header_only=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, defer_size=1 << 20)
    except Exception as exc:  # pydicom raises many kinds on damaged files
        raise damaged(path, f"parse the {what}", exc) from None
    if str(ds.get("SOPClassUID", "")) != sop_class:
        raise ReadError(path, f"is not a DICOM {what} (SOPClassUID {ds.get('SOPClassUID', 'missing')}, "
                        f"expected {sop_class})")
    return ds


def _text(value: Any, limit: int = 256) -> str:
    return str(value if value is not None else "")[:limit].strip()


def _contour_points(path: Any, item: Any, budget: _Budget) -> numpy.ndarray:
    """ContourData as an (n, 3) float array, parsed from the raw bytes (pydicom's DS objects cost ~100 bytes
    each; a contour may have hundreds of thousands of values)."""
    import numpy as np

    if _CONTOUR_DATA not in item:
        return np.zeros((0, 3))
    elem = item.get_item(_CONTOUR_DATA)
    raw = elem.value
    if isinstance(raw, bytes):  # parsed in C: a list of Python strings and floats would cost ~150 bytes a value
        text = raw.strip(b" \x00")
        expected = text.count(b"\\") + 1 if text.strip() else 0
        budget.check(expected // 3)  # before parsing: one huge contour must not be parsed to be refused
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns when the text stops parsing: the count below says so
            values = np.fromstring(text.replace(b"\\", b" "), dtype=np.float64, sep=" ") if expected else \
                np.zeros(0)
        if values.size != expected:
            raise ReadError(path, "a ContourData holds a value that is not a number; the file is damaged")
    else:
        try:
            values = np.array([float(v) for v in (raw if isinstance(raw, (list, tuple)) or hasattr(raw, "__iter__")
                                                  else [raw])], dtype=np.float64)
        except (TypeError, ValueError):
            raise ReadError(path, "a ContourData holds a value that is not a number; the file is damaged") from None
    if values.size % 3:
        raise ReadError(path, f"a ContourData has {values.size} values, not a multiple of 3 (x, y, z); damaged")
    pts = values.reshape(-1, 3)
    return _finite(path, pts, "a ContourData")


def read_rtstruct(path: str | os.PathLike[str]) -> AnnotationSet:
    """The ROIs of a DICOM RT Structure Set, one :class:`Region` per ROI with its contours (patient mm)."""
    ds = _dataset(path, RTSTRUCT_SOP_CLASS, "RT Structure Set")
    names: dict[int, str] = {}
    for roi in ds.get("StructureSetROISequence", []) or []:
        try:
            names[int(roi.ROINumber)] = _text(roi.get("ROIName"), 64)
        except (AttributeError, TypeError, ValueError):
            raise ReadError(path, "a StructureSetROISequence item has no valid ROINumber; damaged") from None
    reader = _text(ds.get("StructureSetLabel")) or None
    budget = _Budget(path)
    regions: list[Region] = []
    for item in ds.get("ROIContourSequence", []) or []:
        try:
            number = int(item.ReferencedROINumber)
        except (AttributeError, TypeError, ValueError):
            raise ReadError(path, "a ROIContourSequence item has no valid ReferencedROINumber; damaged") from None
        region = Region(name=names.get(number, f"ROI {number}"), kind="roi", id=str(number), reader=reader)
        for c in item.get("ContourSequence", []) or []:
            pts = _contour_points(path, c, budget)
            budget.add(len(pts))
            images = c.get("ContourImageSequence") or []
            uid = _text(images[0].get("ReferencedSOPInstanceUID"), 64) if images else ""
            region.contours.append(Contour(points=pts, sop_instance_uid=uid or None))
        regions.append(region)
    return AnnotationSet("rtstruct", _rtstruct_series(ds), regions, study_uid=_text(ds.get("StudyInstanceUID")) or None)


def _rtstruct_series(ds: Any) -> str | None:
    for frame in ds.get("ReferencedFrameOfReferenceSequence", []) or []:
        for study in frame.get("RTReferencedStudySequence", []) or []:
            for series in study.get("RTReferencedSeriesSequence", []) or []:
                uid = _text(series.get("SeriesInstanceUID"), 64)
                if uid:
                    return uid
    return None


# --------------------------------------------------------------------------------------------- SEG


def read_seg(path: str | os.PathLike[str]) -> AnnotationSet:
    """The segments of a DICOM SEG (highdicom), each a :class:`Region` with masks per source SOPInstanceUID."""
    import numpy as np

    ds = _dataset(path, SEG_SOP_CLASS, "Segmentation")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    check_decoded_size(path, "SEG header", (frames, int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)), 1)
    try:
        import highdicom as hd
    except ModuleNotFoundError:
        raise MissingLibrary(path, "reading DICOM SEG files needs the Python package highdicom",
                             f"install it: {INSTALL_HINT}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seg = hd.seg.Segmentation.from_dataset(ds, copy=False)
            sources = [str(sop) for _study, _series, sop in seg.get_source_image_uids()]
            numbers = list(seg.segment_numbers)
            pixels = seg.get_pixels_by_source_instance(sources, segment_numbers=numbers, dtype=np.uint8) \
                if sources and numbers else np.zeros((0, 0, 0, 0), np.uint8)
    except Exception as exc:  # highdicom raises ValueError/AttributeError/KeyError on malformed SEG
        raise damaged(path, "read the segments", exc) from None
    reader = _text(ds.get("ContentCreatorName")) or None
    regions = []
    for k, number in enumerate(numbers):
        desc = seg.get_segment_description(number)
        region = Region(name=_text(desc.segment_label, 64), kind="segment", id=str(number), reader=reader)
        for i, sop in enumerate(sources):
            plane = pixels[i, :, :, k] > 0
            if plane.any():
                region.masks[sop] = plane
        regions.append(region)
    series = None
    for ref in ds.get("ReferencedSeriesSequence", []) or []:
        series = _text(ref.get("SeriesInstanceUID"), 64) or series
    return AnnotationSet("seg", series, regions, study_uid=_text(ds.get("StudyInstanceUID")) or None)


# --------------------------------------------------------------------------------------------- LIDC XML

# `<!` starts a DOCTYPE, an ENTITY/ELEMENT declaration, a comment or CDATA; only the last two are allowed
_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")


def _xml_bytes(path: Any, limit: int = MAX_XML_BYTES) -> bytes:
    from covidct.fsutil import open_regular

    _check_size(path, limit)
    with open_regular(path, "annotation file") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ReadError(path, f"is more than {limit:,} bytes; refused")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:1024]:
        raise ReadError(path, "is not UTF-8 XML (UTF-16 or binary); annotation XML files are UTF-8")
    head = data[:200].lower()
    m = re.search(rb"encoding\s*=\s*[\"']([a-z0-9_.:-]+)", head) if head.startswith(b"<?xml") else None
    if m and m.group(1) not in (b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1"):
        raise ReadError(path, f"declares the encoding {m.group(1).decode()}; only UTF-8, ASCII or Latin-1 XML is read")
    markup = data.count(b"<")
    if markup > MAX_XML_MARKUP:
        raise ReadError(path, f"has {markup:,} tags, more than the {MAX_XML_MARKUP:,} an annotation file may have; "
                        "refused")
    found = _DECLARATION.search(data)
    if found:
        raise ReadError(path, f"has a DOCTYPE or entity declaration at byte {found.start():,}; annotation XML "
                        "needs none and it is refused (entity expansion and external entities are never read)")
    return data


def _parse_xml(path: Any, root_name: str, what: str, limit: int = MAX_XML_BYTES) -> Any:
    """The root element of an annotation XML file, checked by :func:`_xml_bytes` first (size at most ``limit``,
    markup count, no DOCTYPE or entity), and refused unless its root element is ``root_name``."""
    import xml.etree.ElementTree as ET

    data = _xml_bytes(path, limit)
    try:
        root = ET.fromstring(data)  # expat in C; the markup count is bounded and no DTD is present
    except ET.ParseError as exc:
        raise ReadError(path, f"is not well-formed XML ({exc})") from None
    if _local(root.tag) != root_name:
        raise ReadError(path, f"is not {what} (root element {_local(root.tag)[:40]!r}, expected {root_name})")
    return root


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _number(path: Any, text: str | None, what: str) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise ReadError(path, f"its {what} {(text or '')[:40]!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > MAX_COORD:
        raise ReadError(path, f"its {what} {value} is not a finite position")
    return value


def read_lidc_xml(path: str | os.PathLike[str]) -> AnnotationSet:
    """Every reading session of an LIDC-IDRI XML file, one :class:`Region` per nodule or non-nodule per reader.

    ``noduleID`` values are per reader (the same lesion has different ids in different sessions), so nodules
    of different readers are never matched here.
    """
    root = _parse_xml(path, "LidcReadMessage", "an LIDC-IDRI CT reading")
    series = study = None
    budget = _Budget(path)
    regions: list[Region] = []
    session = 0
    for part in root:
        name = _local(part.tag)
        if name == "ResponseHeader":
            for item in part:
                if _local(item.tag) == "SeriesInstanceUid" and series is None:
                    series = _text(item.text, 64) or None
                elif _local(item.tag) == "StudyInstanceUID" and study is None:
                    study = _text(item.text, 64) or None
        elif name == "readingSession":
            session += 1
            reader = next((_text(c.text, 64) for c in part if _local(c.tag) == "servicingRadiologistID"), "")
            for child in part:
                kind = {"unblindedReadNodule": "nodule", "nonNodule": "non-nodule"}.get(_local(child.tag))
                if kind is not None:
                    regions.append(_lidc_region(path, child, kind, reader or f"reader {session}", budget))
    return AnnotationSet("lidc-xml", series, regions, study_uid=study)


def _lidc_region(path: Any, elem: Any, kind: str, reader: str, budget: _Budget) -> Region:
    """One unblindedReadNodule (contours per roi, characteristics) or nonNodule (one locus point)."""
    region = Region(name=kind, kind=kind, id="", reader=reader)
    for child in elem:
        name = _local(child.tag)
        if name in ("noduleID", "nonNoduleID"):
            region.id = _text(child.text, 64)
        elif name == "characteristics":
            for c in child:
                cname, text = _local(c.tag), (c.text or "").strip()
                if cname not in LIDC_CHARACTERISTICS:
                    continue
                if not (text.isascii() and text.isdigit() and len(text) <= 2):
                    raise ReadError(path, f"its {cname} rating {text[:20]!r} is not a small whole number")
                region.characteristics[cname] = int(text)
        elif name == "roi":
            region.contours.append(_lidc_contour(path, child, budget))
    if kind == "non-nodule":
        region.contours.append(_lidc_contour(path, elem, budget))
    elif not region.characteristics and region.contours and all(len(c.points) <= 1 for c in region.contours):
        region.kind = region.name = "small-nodule"
    return region


def _lidc_contour(path: Any, elem: Any, budget: _Budget) -> Contour:
    """A roi (imageSOP_UID, imageZposition, inclusion, edgeMap points) or a nonNodule (locus point)."""
    import numpy as np

    uid, z, inclusion, points = None, None, True, []
    for child in elem:
        name = _local(child.tag)
        if name == "imageSOP_UID":
            uid = _text(child.text, 64) or None
        elif name == "imageZposition":
            z = _number(path, child.text, "imageZposition")
        elif name == "inclusion":
            inclusion = (child.text or "").strip().upper() != "FALSE"
        elif name in ("edgeMap", "locus"):
            xy = {_local(c.tag): c.text for c in child}
            if "xCoord" not in xy or "yCoord" not in xy:
                raise ReadError(path, f"an {name} lacks xCoord or yCoord")
            budget.add(1)
            points.append((_number(path, xy["xCoord"], "xCoord"), _number(path, xy["yCoord"], "yCoord")))
    return Contour(np.array(points, dtype=np.float64).reshape(-1, 2), uid, z, inclusion)


# --------------------------------------------------------------------------------------------- VOC XML

# A DICOM UID: dot-separated numbers, at most 64 characters (PS3.5 9.1)
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
VOC_BOX_SIDES = ("xmin", "ymin", "xmax", "ymax")


def voc_slice_uid(path: str | os.PathLike[str]) -> str:
    """The SOPInstanceUID a VOC file annotates: its name without ``.xml`` (Lung-PET-CT-Dx names each file so)."""
    stem = os.path.basename(os.fspath(path))
    stem = stem[:-4] if stem.lower().endswith(".xml") else stem
    if len(stem) > 64 or not _UID.fullmatch(stem):
        raise ReadError(path, f"is named {stem[:70]!r}, not a DICOM SOPInstanceUID; a VOC annotation file is matched "
                        "to its slice by its name (<SOPInstanceUID>.xml)")
    return stem


def read_voc_xml(path: str | os.PathLike[str]) -> AnnotationSet:
    """The boxes of one PASCAL VOC file, one :class:`Region` (kind ``box``) per ``object``: a two-point contour
    (xmin, ymin), (xmax, ymax) in pixels on the slice the file is named after (:func:`voc_slice_uid`)."""
    import numpy as np

    uid = voc_slice_uid(path)
    root = _parse_xml(path, "annotation", "a PASCAL VOC annotation", MAX_VOC_BYTES)
    regions: list[Region] = []
    for obj in root:
        if _local(obj.tag) != "object":
            continue
        if len(regions) >= MAX_BOXES:
            raise ReadError(path, f"has more than {MAX_BOXES:,} objects; refused")
        name = next((_text(c.text, 64) for c in obj if _local(c.tag) == "name"), "")
        box = next((c for c in obj if _local(c.tag) == "bndbox"), None)
        if box is None:
            raise ReadError(path, f"object {len(regions) + 1} ({name[:40]!r}) has no bndbox")
        sides = {_local(c.tag): c.text for c in box}
        missing = [k for k in VOC_BOX_SIDES if k not in sides]
        if missing:
            raise ReadError(path, f"the bndbox of object {len(regions) + 1} lacks {', '.join(missing)}")
        x0, y0, x1, y1 = (_number(path, sides[k], k) for k in VOC_BOX_SIDES)
        if x1 < x0 or y1 < y0:
            raise ReadError(path, f"object {len(regions) + 1} has xmax < xmin or ymax < ymin ({x0:g}, {y0:g}, {x1:g}, "
                            f"{y1:g}); the file is damaged")
        contour = Contour(np.array([[x0, y0], [x1, y1]], dtype=np.float64), sop_instance_uid=uid)
        regions.append(Region(name=name, kind="box", id=str(len(regions) + 1), contours=[contour]))
    return AnnotationSet("voc-xml", None, regions)


# --------------------------------------------------------------------------------------------- masks


def _pixel_points(contour: Contour, geo: SliceGeometry) -> numpy.ndarray:
    """(n, 2) pixel (x, y) of a contour on a slice: LIDC points already are; RTSTRUCT mm points are projected."""
    import numpy as np

    pts = contour.points
    if pts.shape[1] == 2:
        return pts
    if geo.position is None or geo.orientation is None or geo.spacing is None:
        raise ReadError(f"<slice SOPInstanceUID={geo.sop_instance_uid}>", "lacks ImagePositionPatient, Image"
                        "OrientationPatient or PixelSpacing: a contour in patient coordinates cannot be placed on it")
    d = pts - np.asarray(geo.position)
    row_dir, col_dir = np.asarray(geo.orientation[:3]), np.asarray(geo.orientation[3:])
    x = d @ row_dir / geo.spacing[1]
    y = d @ col_dir / geo.spacing[0]
    return np.stack([x, y], axis=1)


class SliceLookup:
    """Finds the slice a contour lies on, for one series (built once: a scan has hundreds of slices and an
    annotation file thousands of contours). By SOPInstanceUID first; else by position: RTSTRUCT points'
    mean along the slice normal, LIDC imageZposition against ImagePositionPatient z; within half the
    smallest gap between slices (0.5 mm for a single slice)."""

    def __init__(self, slices: Sequence[SliceGeometry]) -> None:
        import numpy as np

        self.slices = slices
        self.by_uid = {g.sop_instance_uid: i for i, g in enumerate(slices) if g.sop_instance_uid}
        oriented = next((g for g in slices if g.position is not None and g.orientation is not None), None)
        self.normal = None if oriented is None or oriented.orientation is None else \
            np.cross(np.asarray(oriented.orientation[:3]), np.asarray(oriented.orientation[3:]))
        self.along = self._sorted([None if g.position is None or self.normal is None
                                   else float(self.normal @ np.asarray(g.position)) for g in slices])
        self.z = self._sorted([None if g.position is None else g.position[2] for g in slices])

    @staticmethod
    def _sorted(values: list[float | None]) -> tuple[list[float], list[int], float]:
        pairs = sorted((v, i) for i, v in enumerate(values) if v is not None)
        keys = [v for v, _ in pairs]
        gaps = [b - a for a, b in itertools.pairwise(keys) if b - a > 1e-6]
        return keys, [i for _, i in pairs], (min(gaps) / 2 if gaps else 0.5)

    def find(self, contour: Contour) -> int | None:
        import bisect

        if contour.sop_instance_uid and contour.sop_instance_uid in self.by_uid:
            return self.by_uid[contour.sop_instance_uid]
        if contour.points.ndim == 2 and contour.points.shape[1] == 3 and len(contour.points):
            if self.normal is None:
                return None
            value, (keys, index, tolerance) = float(self.normal @ contour.points.mean(axis=0)), self.along
        elif contour.z is not None:
            value, (keys, index, tolerance) = contour.z, self.z
        else:
            return None
        k = bisect.bisect_left(keys, value)
        near = [j for j in (k - 1, k) if 0 <= j < len(keys)]
        if not near:
            return None
        j = min(near, key=lambda j: abs(keys[j] - value))
        return index[j] if abs(keys[j] - value) <= tolerance else None


def slice_of(contour: Contour, slices: Sequence[SliceGeometry]) -> int | None:
    """The index of the slice a contour lies on (:class:`SliceLookup`); ``None``: on no slice of these."""
    return SliceLookup(slices).find(contour)


def region_planes(region: Region, slices: Sequence[SliceGeometry], lookup: SliceLookup | None = None,
                  ) -> dict[int, numpy.ndarray]:
    """The region's (rows, cols) bool plane on each slice it touches (only those: a scan has hundreds).

    Contours are filled (outline included) with Pillow; on one slice, RTSTRUCT contours combine by even-odd
    (a contour inside another is a hole), LIDC ``inclusion`` FALSE contours are cut out. SEG masks are
    placed by SOPInstanceUID. Contours on no slice of the series are left out.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    lookup = lookup or SliceLookup(slices)
    planes: dict[int, numpy.ndarray] = {}
    cuts: dict[int, numpy.ndarray] = {}

    def plane(store: dict[int, numpy.ndarray], i: int) -> numpy.ndarray:
        if i not in store:
            store[i] = np.zeros((slices[i].rows, slices[i].cols), dtype=bool)
        return store[i]

    for sop, pixels in region.masks.items():
        i = lookup.by_uid.get(sop)
        if i is not None and pixels.shape == (slices[i].rows, slices[i].cols):
            plane(planes, i)[...] |= pixels
    for contour in region.contours:
        i = lookup.find(contour)
        if i is None or not len(contour.points):
            continue
        geo = slices[i]
        xy = _pixel_points(contour, geo)
        img = Image.new("1", (geo.cols, geo.rows), 0)
        points = [(float(x), float(y)) for x, y in np.round(xy, 3)]
        if len(points) == 1:
            ImageDraw.Draw(img).point(points, fill=1)
        else:
            ImageDraw.Draw(img).polygon(points, fill=1, outline=1)
        filled = np.asarray(img, dtype=bool)
        if not contour.inclusion:
            plane(cuts, i)[...] |= filled
        elif region.kind == "roi":
            plane(planes, i)[...] ^= filled
        else:
            plane(planes, i)[...] |= filled
    for i, cut in cuts.items():
        if i in planes:
            planes[i] &= ~cut
    return planes


def region_mask(region: Region, slices: Sequence[SliceGeometry]) -> numpy.ndarray:
    """(n_slices, rows, cols) bool mask of one region on a series (:func:`region_planes`, made dense)."""
    import numpy as np

    out = np.zeros((len(slices), max((g.rows for g in slices), default=0), max((g.cols for g in slices), default=0)),
                   dtype=bool)
    for i, p in region_planes(region, slices).items():
        out[i, : p.shape[0], : p.shape[1]] = p
    return out


def rasterize(regions: Iterable[Region], slices: Sequence[SliceGeometry], classes: Mapping[str, int]) -> numpy.ndarray:
    """(n_slices, rows, cols) uint8 label mask: each region whose name ``classes`` maps gets that value
    (later regions over earlier ones). Regions whose name is not in ``classes`` are left out."""
    import numpy as np

    rows = max((g.rows for g in slices), default=0)
    cols = max((g.cols for g in slices), default=0)
    out = np.zeros((len(slices), rows, cols), dtype=np.uint8)
    lookup = SliceLookup(slices)
    for region in regions:
        value = classes.get(region.name)
        if value is None:
            continue
        for i, p in region_planes(region, slices, lookup).items():
            out[i, : p.shape[0], : p.shape[1]][p] = value
    return out


def consensus(masks: Sequence[numpy.ndarray], min_readers: int) -> numpy.ndarray:
    """Pixels marked by at least ``min_readers`` of the per-reader masks (bool arrays of one shape)."""
    import numpy as np

    if not masks:
        raise ValueError("no reader's mask to take a consensus of")
    votes = np.zeros(masks[0].shape, dtype=np.uint16)
    for m in masks:
        votes += m.astype(bool)
    return votes >= int(min_readers)
