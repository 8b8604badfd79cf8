"""`layout.annotations`: RTSTRUCT, SEG and LIDC XML files in random folders become label features of the scans
they refer to by SeriesInstanceUID (never by names), per reader or as a declared consensus."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from cardkit import make_card

from conftest import need
from covidct import fixtures as F
from covidct.layout.plan import LayoutError, make_plan

np = need("numpy")
need("pydicom")

CT_IMAGE = {"formats": ["dicom"], "intensity": "stored-with-rescale", "size": {"min": [20, 24], "max": [20, 24]}}
LAYOUT: dict[str, Any] = {
    "files": {"image": {"pattern": "**/*.dcm", "format": "dicom"}},
    "headers": {"patient": "PatientID", "series": "SeriesInstanceUID"},
    "where": {"Modality": ["CT"]},
    "group": {"by": ["series"], "order_by": "ImagePositionPatient"},
    "patient": {"part": "patient"},
    "scan": {"part": "series"},
}
MASK = {"name": "mask", "kind": "mask", "granularity": "pixel", "source": ["radiologists"],
        "mask_values": [{"name": "background", "value": 0}, {"name": "nodule", "value": 1},
                        {"name": "lung", "value": 2}]}
MARKS = {"name": "nodules", "kind": "points", "granularity": "contour", "source": ["radiologists"]}
BOXES = {"name": "nodules", "kind": "boxes", "granularity": "box", "source": ["radiologists"]}
MALIGNANCY = {"name": "malignancy", "kind": "class", "granularity": "contour", "source": ["radiologists"],
              "classes": [{"name": n, "value": v, "unmapped": "a test class"}
                          for v, n in enumerate(["unlikely", "indeterminate", "suspicious", "likely"], start=1)]}
RECT = [(2, 3), (7, 3), (7, 9), (2, 9)]


def card(annotations: dict[str, Any], labels: list[dict[str, Any]], **layout: Any) -> Any:
    return make_card({**LAYOUT, **layout, "annotations": annotations}, labels, example="series",
                     dimensionality="3D", image=CT_IMAGE)


def encode(c: Any, data: Path) -> list[dict[str, Any]]:
    from covidct.hf.features import Encoder, features_for

    cfg = c.configs[0]
    plan = make_plan(c, cfg, [data])
    feats = features_for(c, cfg)
    enc = Encoder(c, cfg, feats)
    out = [enc.encode(r) for r in plan.records()]
    for ex in out:  # what datasets stores: every value fits its feature
        feats.encode_example(ex)
    return sorted(out, key=lambda e: e["scan_id"])


def rect(index: int, rows: slice, cols: slice) -> Any:
    out = np.zeros((4, 24, 20), dtype=np.uint8)
    out[index, rows, cols] = 1
    return out


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, list[F.SynthSeries]]:
    root = tmp_path / "data"
    series = [F.write_ct_series(root, f"scan{i}") for i in range(2)]
    return root, sorted(series, key=lambda s: s.series_uid)


def place(root: Path, seed: str, name: str, data: bytes | str) -> Path:
    """One annotation file in random folders of its own, far from its series."""
    path = root / F._random_names(seed)("**/") / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def test_rtstruct_beside_the_slices_gives_each_scan_its_mask(data):
    root, series = data
    first = series[0]
    # the RTSTRUCT lies among the slices and matches the image pattern: `where` leaves it out of the images
    (first.paths[0].parent / "rt.dcm").write_bytes(
        F.rtstruct_bytes(first, {"GTV": [(1, RECT)], "Couch": [(0, RECT)]}, label="Dr A"))
    c = card({"mask": {"pattern": "**/*.dcm", "format": "rtstruct", "classes": {"GTV": "nodule"}}}, [MASK])
    got = encode(c, root)
    assert [e["scan_id"] for e in got] == [s.series_uid for s in series]
    assert got[0]["mask_readers"] == ["Dr A"]
    assert np.array_equal(got[0]["mask"][0], rect(1, slice(3, 10), slice(2, 8)))
    assert got[1]["mask"] == [] and got[1]["mask_readers"] == []  # no file refers to the second scan


def test_seg_in_another_folder_matches_by_uid(data):
    need("highdicom")
    root, series = data
    second = series[1]
    nodule = rect(2, slice(0, 5), slice(0, 5)).astype(bool)
    lung = rect(3, slice(10, 20), slice(4, 6)).astype(bool)
    place(root, "seg", "whatever.dcm", F.seg_bytes(second, {"Nodule 1": nodule, "Left lung": lung}))
    c = card({"mask": {"pattern": "**/*.dcm", "format": "seg", "classes": {"Nodule 1": "nodule", "Left lung": "lung"},
                       "readers": "consensus", "consensus": {"min_readers": 1}}}, [MASK])
    got = encode(c, root)
    assert np.array_equal(got[1]["mask"], nodule.astype(np.uint8) + 2 * lung.astype(np.uint8))
    assert not np.asarray(got[0]["mask"]).any()


def lidc(series: F.SynthSeries) -> str:
    return F.lidc_xml_text(series, [
        {"id": "reader-a", "nodules": [
            {"id": "Nodule 001", "characteristics": {"malignancy": 4, "subtlety": 5}, "rois": [(1, RECT, True)]},
            {"id": "small", "rois": [(3, [(10, 11)], True)]}],
         "non_nodules": [{"id": "nn", "slice": 0, "x": 4, "y": 4}]},
        {"id": "reader-b", "nodules": [
            {"id": "Nodule 007", "characteristics": {"malignancy": 2}, "rois": [(1, [(4, 3), (9, 3), (9, 9), (4, 9)],
                                                                                True)]}]},
    ])


def test_lidc_marks_stay_per_reader_and_the_consensus_is_declared(data):
    root, series = data
    first = series[0]
    place(root, "xml", "069.xml", lidc(first))
    c = card({"nodules": {"pattern": "**/*.xml", "format": "lidc-xml"},
              "mask": {"pattern": "**/*.xml", "format": "lidc-xml", "classes": {"nodule": "nodule"},
                       "readers": "consensus", "consensus": {"min_readers": 2}}}, [MARKS, MASK])
    got = encode(c, root)
    marks = got[0]["nodules"]
    assert [(m["reader"], m["kind"], m["id"], m["malignancy"], m["slices"]) for m in marks] == [
        ("reader-a", "nodule", "Nodule 001", 4, [1]), ("reader-a", "small-nodule", "small", 0, [3]),
        ("reader-a", "non-nodule", "nn", 0, [0]), ("reader-b", "nodule", "Nodule 007", 2, [1])]
    assert (marks[1]["x"], marks[1]["y"], marks[1]["z"]) == (10.0, 11.0, 3.0)
    # two readers agree on columns 4..7 of rows 3..9
    assert np.array_equal(got[0]["mask"], rect(1, slice(3, 10), slice(4, 8)))
    assert got[1]["nodules"] == [] and not np.asarray(got[1]["mask"]).any()


def test_lidc_each_reader_keeps_a_mask(data):
    root, series = data
    place(root, "xml", "069.xml", lidc(series[0]))
    c = card({"mask": {"pattern": "**/*.xml", "format": "lidc-xml", "classes": {"nodule": "nodule"}}}, [MASK])
    got = encode(c, root)
    assert got[0]["mask_readers"] == ["reader-a", "reader-b"]
    assert np.array_equal(got[0]["mask"][0], rect(1, slice(3, 10), slice(2, 8)))
    assert np.array_equal(got[0]["mask"][1], rect(1, slice(3, 10), slice(4, 10)))


def test_an_annotation_of_no_scan_is_reported(data):
    root, _series = data
    other = F.write_ct_series(root.parent / "elsewhere", "other")
    place(root, "xml", "orphan.xml", lidc(other))
    shutil.rmtree(root.parent / "elsewhere")
    c = card({"nodules": {"pattern": "**/*.xml", "format": "lidc-xml"}}, [MARKS])
    with pytest.warns(UserWarning, match=r"L511 1 lidc-xml file\(s\) of label 'nodules' refer to no scan"):
        got = encode(c, root)
    assert [e["nodules"] for e in got] == [[], []]


def test_without_series_uid_in_headers_the_layout_says_what_to_add(data):
    root, _series = data
    c = card({"nodules": {"pattern": "**/*.xml", "format": "lidc-xml"}}, [MARKS],
             headers={"patient": "PatientID", "series": "StudyInstanceUID"})
    with pytest.raises(LayoutError, match="add it to `headers`"):
        make_plan(c, c.configs[0], [root])


def test_consensus_needs_its_rule():
    with pytest.raises(ValueError, match="goes with `consensus"):
        card({"mask": {"pattern": "**/*.xml", "format": "lidc-xml", "classes": {"nodule": "nodule"},
                       "readers": "consensus"}}, [MASK])


def test_mask_classes_must_name_mask_values(data):
    from covidct.hf.features import features_for

    c = card({"mask": {"pattern": "**/*.xml", "format": "lidc-xml", "classes": {"nodule": "tumour"}}}, [MASK])
    with pytest.raises(LayoutError, match="unknown: tumour"):
        features_for(c, c.configs[0])


def test_validate_names_unknown_labels_and_mask_values():
    from covidct.card.checks import check_card

    c = card({"masks": {"pattern": "**/*.xml", "format": "lidc-xml", "classes": {"nodule": "nodule"}},
              "mask": {"pattern": "**/*.xml", "format": "lidc-xml", "classes": {"nodule": "tumor"}}}, [MASK])
    got = {(f.code, f.path[-3:]) for f in check_card(c)}
    assert ("C311", ("layout", "annotations", "masks")) in got
    assert ("C304", ("mask", "classes", "nodule")) in got
    assert not any(code == "W403" for code, _ in got)  # the annotations give `mask` its value


@pytest.mark.parametrize(("fmt", "pattern"), [("rtstruct", "**/*.dcm"), ("seg", "**/*.dcm"), ("lidc-xml", "**/*.xml"),
                                             ("voc-xml", "**/*.xml")])
def test_card_fixture_synthesizes_annotations_the_loader_reads(tmp_path, fmt, pattern):
    """The fixture synthesizer writes the annotation files of a card (RTSTRUCT and SEG among the slices, XML in
    folders of their own) and expects the marks a points label loads."""
    from covidct.fixtures import synthesize

    if fmt == "seg":
        need("highdicom")
    classes = {"GTV": "tumour"} if fmt != "lidc-xml" else {}
    label = BOXES if fmt == "voc-xml" else MARKS
    c = card({"nodules": {"pattern": pattern, "format": fmt, "classes": classes}}, [label])
    manifest = synthesize(c, c.configs[0], tmp_path / "data")
    got = {e["path"]: e["nodules"] for e in encode(c, tmp_path / "data")}
    assert any(e.labels["nodules"] for e in manifest.examples) and any(not e.labels["nodules"]
                                                                         for e in manifest.examples)
    for exp in manifest.examples:
        assert got[exp.path] == exp.labels["nodules"], exp.path


def test_slice_examples_get_their_slice_of_the_mask(data):
    root, series = data
    first = series[0]
    (first.paths[0].parent / "rt.dcm").write_bytes(F.rtstruct_bytes(first, {"GTV": [(1, RECT)]}))
    c = make_card({**LAYOUT, "annotations": {"mask": {"pattern": "**/*.dcm", "format": "rtstruct",
                                                        "classes": {"GTV": "nodule"}}}},
                  [MASK], example="slice", dimensionality="2D", image=CT_IMAGE)
    from covidct.hf.features import Encoder, features_for

    cfg = c.configs[0]
    feats = features_for(c, cfg)
    enc = Encoder(c, cfg, feats)
    got = {}
    for rec in make_plan(c, cfg, [root]).records():
        ex = enc.encode(rec)
        feats.encode_example(ex)
        got[(rec.scan, rec.slice_index)] = ex["mask"]
    assert len(got) == 8
    want = rect(1, slice(3, 10), slice(2, 8))[1]
    assert np.array_equal(got[(first.series_uid, 1)][0], want)
    assert all(m == [] for (scan, _i), m in got.items() if scan != first.series_uid)
    assert not any(np.asarray(got[(first.series_uid, i)][0]).any() for i in (0, 2, 3))


# ------------------------------------------------------------------------ LIDC ratings as class labels (malignancy)


def test_a_rating_of_the_records_is_a_class_label_aligned_with_them(data):
    """`annotations.nodules.labels: {malignancy: malignancy}`: one class per nodules record, in the same order;
    null for the records no reader rated (small nodules, non-nodules), an empty list for a scan nobody read."""
    root, series = data
    place(root, "xml", "069.xml", lidc(series[0]))
    c = card({"nodules": {"pattern": "**/*.xml", "format": "lidc-xml", "labels": {"malignancy": "malignancy"}}},
             [MARKS, MALIGNANCY])
    got = encode(c, root)
    assert [m["malignancy"] for m in got[0]["nodules"]] == [4, 0, 0, 2]
    assert got[0]["malignancy"] == ["likely", None, None, "indeterminate"]
    assert got[1]["malignancy"] == []
    from covidct.hf.features import features_for

    feats = features_for(c, c.configs[0])
    assert feats["malignancy"].feature.names == ["unlikely", "indeterminate", "suspicious", "likely"]
    assert feats.encode_example(got[0])["malignancy"] == [3, None, None, 1]


def test_a_rating_no_class_has_is_one_message(data):
    root, series = data
    text = lidc(series[0]).replace("<malignancy>4</malignancy>", "<malignancy>5</malignancy>")
    place(root, "xml", "069.xml", text)
    c = card({"nodules": {"pattern": "**/*.xml", "format": "lidc-xml", "labels": {"malignancy": "malignancy"}}},
             [MARKS, MALIGNANCY])
    with pytest.raises(LayoutError, match=r"its malignancy 5 is no class of label 'malignancy' \(values 1, 2, 3, 4\)"):
        encode(c, root)


def test_w403_still_fires_for_a_class_label_nobody_fills():
    """The rule that fills a class label from the records satisfies W403 for that label only."""
    from covidct.card.checks import check_card

    other = {**MALIGNANCY, "name": "texture"}
    c = card({"nodules": {"pattern": "**/*.xml", "format": "lidc-xml", "labels": {"malignancy": "malignancy"}}},
             [MARKS, MALIGNANCY, other])
    got = [(f.code, f.message) for f in check_card(c) if f.code in ("W403", "C325")]
    assert got == [("W403", "no layout rule gives label 'texture' a value")]


# ------------------------------------------------------------------------ VOC boxes (Lung-PET-CT-Dx)


def voc(boxes: list[tuple[str, int, int, int, int]]) -> str:
    series = F.SynthSeries("1", "1", [], [], 24, 20, [])
    return F.voc_xml_text(series, [(n, float(a), float(b), float(c), float(d)) for n, a, b, c, d in boxes])


def test_voc_files_find_their_scan_through_the_slice_they_are_named_after(data):
    """Each VOC file names no series: it lands on the scan (and slice) whose SOPInstanceUID is its name, wherever
    it lies; its objects become records with the box, the class the card maps the name to, and the slice index."""
    root, series = data
    first, second = series
    place(root, "voc-a", f"{first.sop_uids[2]}.xml", voc([("A", 2, 3, 7, 9), ("G", 10, 11, 14, 15)]))
    place(root, "voc-b", f"{second.sop_uids[0]}.xml", voc([("B", 1, 1, 5, 5)]))
    c = card({"nodules": {"pattern": "**/*.xml", "format": "voc-xml", "classes": {"A": "adeno", "B": "small cell"}}},
             [BOXES])
    got = encode(c, root)
    assert got[0]["nodules"] == [{"reader": None, "kind": "box", "id": "1", "name": "adeno", "slices": [2],
                                  "x": 4.5, "y": 6.0, "z": 2.0, "xmin": 2.0, "ymin": 3.0, "xmax": 7.0, "ymax": 9.0}]
    assert [(b["name"], b["slices"], b["xmax"]) for b in got[1]["nodules"]] == [("small cell", [0], 5.0)]


def test_a_voc_file_of_no_loaded_slice_is_reported_and_a_misnamed_one_refused(data):
    root, _series = data
    place(root, "voc-orphan", "1.2.3.4.5.xml", voc([("A", 1, 1, 2, 2)]))
    c = card({"nodules": {"pattern": "**/*.xml", "format": "voc-xml"}}, [BOXES])
    with pytest.warns(UserWarning, match=r"L511 1 voc-xml file\(s\) of label 'nodules' refer to no scan"):
        got = encode(c, root)
    assert [e["nodules"] for e in got] == [[], []]
    place(root, "voc-named", "slice-12.xml", voc([("A", 1, 1, 2, 2)]))
    with pytest.raises(LayoutError, match="is named 'slice-12', not a DICOM SOPInstanceUID"):
        make_plan(c, c.configs[0], [root]).records()


def test_voc_boxes_are_no_mask():
    from covidct.hf.features import features_for

    c = card({"mask": {"pattern": "**/*.xml", "format": "voc-xml", "classes": {"A": "nodule"}}}, [MASK])
    with pytest.raises(LayoutError, match="VOC files give boxes"):
        features_for(c, c.configs[0])


def test_validate_misused_record_labels():
    from covidct.card.checks import check_card

    number = {"name": "size", "kind": "number", "granularity": "contour", "source": ["radiologists"]}
    c = card({"nodules": {"pattern": "**/*.xml", "format": "lidc-xml",
                          "labels": {"malignancy": "malignant", "size": "malignancy"}},
              "boxes": {"pattern": "**/*.voc", "format": "voc-xml", "labels": {"texture": "texture"}}},
             [MARKS, {**BOXES, "name": "boxes"}, MALIGNANCY, number, {**MALIGNANCY, "name": "texture"}])
    got = sorted((f.path[-1], f.message) for f in check_card(c) if f.code == "C325")
    assert got == [
        ("malignancy", "'malignant' is not a field of lidc-xml records"),
        ("size", "label 'size' is number without classes; a record field gives a class label with classes"),
        ("texture", "'texture' is not a field of voc-xml records")]


@pytest.mark.parametrize("cid", ["lidc-idri", "lung-pet-ct-dx"])
def test_the_cards_give_every_label_a_value(cid):
    """Issue 16: lidc-idri's malignancy (a rating of the nodules records) and lung-pet-ct-dx's tumour_boxes (VOC
    files) had no rule (W403); both cards are now loadable in full."""
    from covidct.card.checks import check_card
    from covidct.registry import registry

    got = [f.message for f in check_card(registry().get(cid)) if f.code == "W403"]
    assert got == []


def test_show_says_how_voc_files_match_and_which_labels_come_from_records():
    from covidct.render.text import _header_lines

    c = card({"nodules": {"pattern": "**/*.xml", "format": "lidc-xml", "labels": {"malignancy": "malignancy"}},
              "boxes": {"pattern": "**/*.voc", "format": "voc-xml"}}, [MARKS, MALIGNANCY, {**BOXES, "name": "boxes"}])
    lines = "\n".join(_header_lines(c.configs[0].layout, ""))
    assert "labels from record fields: malignancy <- malignancy" in lines
    assert "(voc-xml, one per reader; matched by file name = slice SOPInstanceUID)" in lines
