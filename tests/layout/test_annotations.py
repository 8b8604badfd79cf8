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


@pytest.mark.parametrize(("fmt", "pattern"), [("rtstruct", "**/*.dcm"), ("seg", "**/*.dcm"), ("lidc-xml", "**/*.xml")])
def test_card_fixture_synthesizes_annotations_the_loader_reads(tmp_path, fmt, pattern):
    """The fixture synthesizer writes the annotation files of a card (RTSTRUCT and SEG among the slices, XML in
    folders of their own) and expects the marks a points label loads."""
    from covidct.fixtures import synthesize

    if fmt == "seg":
        need("highdicom")
    classes = {"GTV": "tumour"} if fmt != "lidc-xml" else {}
    c = card({"nodules": {"pattern": pattern, "format": fmt, "classes": classes}}, [MARKS])
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
