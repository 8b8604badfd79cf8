"""Annotation files as labels: RTSTRUCT, SEG and LIDC-IDRI XML synthesized over a CT series in random folders,
read back into the polygons and masks that were drawn; per-reader marks stay per reader; hostile files refused."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import need
from covidct import fixtures as F
from covidct.readers import ReadError
from covidct.readers import annotation_files as A

need("pydicom")

RECT = [(2, 3), (7, 3), (7, 9), (2, 9)]  # pixel (x, y) corners: rows 3..9, columns 2..7, outline included


def rect(shape: tuple[int, ...], index: int, rows: slice, cols: slice) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    out[index, rows, cols] = True
    return out


@pytest.fixture
def series(tmp_path: Path) -> F.SynthSeries:
    return F.write_ct_series(tmp_path / "data", "annotations", n_slices=4, rows=24, cols=20)


def geometry(series: F.SynthSeries) -> list[A.SliceGeometry]:
    from covidct.readers import read_header

    return [A.SliceGeometry.from_header(read_header(p)) for p in series.paths]


def test_series_lies_in_random_folders(series, tmp_path):
    rel = series.paths[0].relative_to(tmp_path / "data")
    assert len(rel.parts) >= 2 and "annotations" not in str(rel)  # the names say nothing: only UIDs match
    assert len({p.parent for p in series.paths}) == 1


@pytest.mark.parametrize("reference_images", [True, False])
def test_rtstruct_contours_become_the_drawn_polygons(series, tmp_path, reference_images):
    path = tmp_path / "rt.dcm"
    square = [(0, 0), (5, 0), (5, 5), (0, 5)]
    path.write_bytes(F.rtstruct_bytes(series, {"GTV": [(1, RECT)], "Lung": [(2, square)]},
                                      reference_images=reference_images))
    ann = A.read_rtstruct(path)
    assert ann.format == "rtstruct" and ann.series_uid == series.series_uid
    assert [(r.name, r.kind, len(r.contours)) for r in ann.regions] == [("GTV", "roi", 1), ("Lung", "roi", 1)]
    mask = A.rasterize(ann.regions, geometry(series), {"GTV": 1, "Lung": 2})
    shape = (4, 24, 20)
    expected = rect(shape, 1, slice(3, 10), slice(2, 8)).astype(np.uint8) + \
        2 * rect(shape, 2, slice(0, 6), slice(0, 6)).astype(np.uint8)
    assert mask.dtype == np.uint8 and np.array_equal(mask, expected)


def test_rtstruct_inner_contour_is_a_hole(series, tmp_path):
    path = tmp_path / "rt.dcm"
    outer = [(0, 0), (10, 0), (10, 10), (0, 10)]
    inner = [(3, 3), (6, 3), (6, 6), (3, 6)]
    path.write_bytes(F.rtstruct_bytes(series, {"ring": [(0, outer), (0, inner)]}))
    mask = A.region_mask(A.read_rtstruct(path).regions[0], geometry(series))
    expected = rect((4, 24, 20), 0, slice(0, 11), slice(0, 11)) & ~rect((4, 24, 20), 0, slice(3, 7), slice(3, 7))
    assert np.array_equal(mask, expected)


def test_rtstruct_names_map_to_classes_and_unknown_names_are_left_out(series, tmp_path):
    path = tmp_path / "rt.dcm"
    path.write_bytes(F.rtstruct_bytes(series, {"GTV": [(1, RECT)], "Couch": [(2, RECT)]}))
    mask = A.rasterize(A.read_rtstruct(path).regions, geometry(series), {"GTV": 3})
    assert set(np.unique(mask)) == {0, 3} and mask[2].sum() == 0


def test_seg_segments_become_masks_per_source_image(series, tmp_path):
    need("highdicom")
    shape = (4, 24, 20)
    nodule = rect(shape, 1, slice(3, 10), slice(2, 8))
    lung = rect(shape, 2, slice(0, 12), slice(0, 12)) | rect(shape, 3, slice(5, 6), slice(5, 9))
    path = tmp_path / "seg.dcm"
    path.write_bytes(F.seg_bytes(series, {"nodule": nodule, "lung": lung}, creator="Doe^Jane"))
    ann = A.read_seg(path)
    assert ann.format == "seg" and ann.series_uid == series.series_uid
    assert [(r.name, r.kind, r.reader) for r in ann.regions] == [("nodule", "segment", "Doe^Jane"),
                                                                  ("lung", "segment", "Doe^Jane")]
    assert list(ann.regions[0].masks) == [series.sop_uids[1]]
    geo = geometry(series)
    assert np.array_equal(A.region_mask(ann.regions[0], geo), nodule)
    assert np.array_equal(A.region_mask(ann.regions[1], geo), lung)


def lidc_sessions() -> list[dict]:
    hole = [(4, 5), (5, 5), (5, 6), (4, 6)]
    return [
        {"id": "540461523", "nodules": [
            {"id": "Nodule 001", "characteristics": {"subtlety": 5, "malignancy": 4},
             "rois": [(1, RECT, True), (1, hole, False), (2, RECT, True)]},
            {"id": "IL057_127364", "rois": [(3, [(10, 11)], True)]}],
         "non_nodules": [{"id": "Non-nodule 001", "slice": 0, "x": 4, "y": 4}]},
        {"id": "316637815", "nodules": [
            {"id": "Nodule 001", "characteristics": {"subtlety": 3, "malignancy": 2}, "rois": [(1, RECT, True)]}]},
    ]


@pytest.mark.parametrize("by_uid", [True, False])
def test_lidc_xml_keeps_each_reader(series, tmp_path, by_uid):
    path = tmp_path / "069.xml"
    path.write_text(F.lidc_xml_text(series, lidc_sessions(), by_uid=by_uid))
    ann = A.read_lidc_xml(path)
    assert ann.format == "lidc-xml" and ann.series_uid == series.series_uid
    assert ann.readers == ["540461523", "316637815"]
    got = [(r.reader, r.kind, r.id, r.characteristics) for r in ann.regions]
    assert got == [("540461523", "nodule", "Nodule 001", {"subtlety": 5, "malignancy": 4}),
                   ("540461523", "small-nodule", "IL057_127364", {}),
                   ("540461523", "non-nodule", "Non-nodule 001", {}),
                   ("316637815", "nodule", "Nodule 001", {"subtlety": 3, "malignancy": 2})]
    geo, shape = geometry(series), (4, 24, 20)
    first = A.region_mask(ann.regions[0], geo)
    expected = (rect(shape, 1, slice(3, 10), slice(2, 8)) & ~rect(shape, 1, slice(5, 7), slice(4, 6))) \
        | rect(shape, 2, slice(3, 10), slice(2, 8))
    assert np.array_equal(first, expected)
    point = A.region_mask(ann.regions[1], geo)
    assert np.argwhere(point).tolist() == [[3, 11, 10]]
    second = A.region_mask(ann.regions[3], geo)
    assert np.array_equal(A.consensus([first, second], 2), first & second)
    assert np.array_equal(A.consensus([first, second], 1), first | second)


def test_lidc_chest_xray_reading_is_not_taken_for_ct(tmp_path):
    path = tmp_path / "cxr.xml"
    path.write_text('<?xml version="1.0"?><IdriReadMessage xmlns="http://www.nih.gov"/>')
    with pytest.raises(ReadError, match="expected LidcReadMessage"):
        A.read_lidc_xml(path)


def test_wrong_dicom_object_is_refused(series, tmp_path):
    with pytest.raises(ReadError, match="not a DICOM RT Structure Set"):
        A.read_rtstruct(series.paths[0])
    with pytest.raises(ReadError, match="not a DICOM Segmentation"):
        A.read_seg(series.paths[0])


def test_unknown_format_is_one_message(tmp_path):
    with pytest.raises(ReadError, match="unknown annotation format 'gson'"):
        A.read_annotations(tmp_path / "x", "gson")


def test_real_lidc_reading_of_lidc_idri_0001(tmp_path):
    """The real XML of LIDC-IDRI-0001 (tests/readers/data/README.md): four readers, each one nodule >= 3 mm (the
    one all four marked), with the ratings and outlines the file holds; the first outline fills on its slice."""
    import gzip

    path = tmp_path / "069.xml"
    path.write_bytes(gzip.decompress((Path(__file__).parent / "data" / "lidc-idri-0001-069.xml.gz").read_bytes()))
    ann = A.read_lidc_xml(path)
    assert ann.series_uid == "1.3.6.1.4.1.14519.5.2.1.6279.6001.179049373636438705059720603192"
    assert ann.readers == ["540461523", "1428348137", "-750896469", "2103845659"]
    nodules = [r for r in ann.regions if r.kind == "nodule"]
    assert [r.reader for r in nodules] == ann.readers
    first = nodules[0]
    assert (first.id, first.characteristics) == ("Nodule 001", {
        "subtlety": 5, "internalStructure": 1, "calcification": 6, "sphericity": 3, "margin": 3, "lobulation": 3,
        "spiculation": 4, "texture": 5, "malignancy": 5})
    roi = first.contours[0]
    assert (roi.sop_instance_uid, roi.z, roi.inclusion) == (
        "1.3.6.1.4.1.14519.5.2.1.6279.6001.110383487652933113465768208719", -125.0, True)
    assert roi.points[0].tolist() == [312.0, 355.0]
    assert all(len(c.points) == 1 for r in ann.regions if r.kind == "small-nodule" for c in r.contours)
    geo = A.SliceGeometry(roi.sop_instance_uid, 512, 512)
    mask = A.region_mask(first, [geo])[0]
    xs, ys = roi.points[:, 0], roi.points[:, 1]
    filled = np.argwhere(mask)
    assert (filled[:, 0].min(), filled[:, 0].max()) == (ys.min(), ys.max())
    assert (filled[:, 1].min(), filled[:, 1].max()) == (xs.min(), xs.max())
    assert mask[365, 312]  # inside the outline


def test_seg_without_highdicom_says_what_to_install(series, tmp_path, monkeypatch):
    need("highdicom")
    import sys

    from covidct.readers import MissingLibrary

    path = tmp_path / "seg.dcm"
    path.write_bytes(F.seg_bytes(series, {"nodule": rect((4, 24, 20), 1, slice(0, 2), slice(0, 2))}))
    monkeypatch.setitem(sys.modules, "highdicom", None)
    with pytest.raises(MissingLibrary, match=r"needs the Python package highdicom; install it: pip install"):
        A.read_seg(path)


def test_contours_without_uid_land_on_the_nearest_slice_within_half_a_gap(series):
    geo = geometry(series)  # z = -100, -98, -96, -94: half a gap is 1 mm
    lookup = A.SliceLookup(geo)
    point = np.array([[2.0, 3.0]])
    assert [lookup.find(A.Contour(point, None, z)) for z in (-100.0, -99.1, -98.9, -94.0, -93.0)] == [0, 0, 1, 3, 3]
    assert [lookup.find(A.Contour(point, None, z)) for z in (-101.5, -92.9, None)] == [None, None, None]
    assert lookup.find(A.Contour(point, "1.2.3.not-in-the-series", None)) is None
    # a uid of the series wins over a position that says otherwise
    assert lookup.find(A.Contour(point, series.sop_uids[2], -100.0)) == 2


REAL_VOC = Path(__file__).parent / "data" / "lung-pet-ct-dx" / \
    "1.3.6.1.4.1.14519.5.2.1.6655.2359.102500633407588554681658808214.xml"


def test_real_lung_pet_ct_dx_box_of_lung_dx_a0001():
    """The real box file of Lung_Dx-A0001 (tests/readers/data/README.md, from huyenbui117/lung_CT@257e9d3f:
    Annotation/A0001/): one object `A` (the subtype letter), its bndbox, on the slice the file is named after.
    LabelImg's `<source>Unknow<database>...` (text beside an element) and `<Difficult>` are read as they are."""
    ann = A.read_annotations(REAL_VOC, "voc-xml")
    assert (ann.format, ann.series_uid, ann.readers) == ("voc-xml", None, [None])
    [box] = ann.regions
    assert (box.name, box.kind, box.id) == ("A", "box", "1")
    [c] = box.contours
    assert c.sop_instance_uid == "1.3.6.1.4.1.14519.5.2.1.6655.2359.102500633407588554681658808214"
    assert c.points.tolist() == [[286.0, 310.0], [355.0, 402.0]]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("<xmax>355</xmax>", "<xmax>200</xmax>"), "xmax < xmin or ymax < ymin (286, 310, 200, 402)"),
    (lambda t: t.replace("<ymin>310</ymin>", ""), "the bndbox of object 1 lacks ymin"),
    (lambda t: t.replace("<xmin>286</xmin>", "<xmin>12px</xmin>"), "its xmin '12px' is not a number"),
    (lambda t: t.replace("<bndbox>", "<box>").replace("</bndbox>", "</box>"), "object 1 ('A') has no bndbox"),
    (lambda t: t.replace("<annotation", "<LidcReadMessage").replace("</annotation>", "</LidcReadMessage>"),
     "is not a PASCAL VOC annotation (root element 'LidcReadMessage', expected annotation)"),
])
def test_damaged_voc_boxes_are_one_message(tmp_path, edit, message):
    path = tmp_path / REAL_VOC.name
    path.write_text(edit(REAL_VOC.read_text()))
    with pytest.raises(ReadError, match=re.escape(message)):
        A.read_voc_xml(path)


@pytest.mark.parametrize("name", ["slice-12.xml", "1.2..3.xml", "1.2.3a.xml", "1." + "2" * 70 + ".xml", ".xml"])
def test_a_voc_file_not_named_by_a_uid_is_refused(tmp_path, name):
    path = tmp_path / name
    path.write_text(REAL_VOC.read_text())
    with pytest.raises(ReadError, match="not a DICOM SOPInstanceUID"):
        A.read_voc_xml(path)
