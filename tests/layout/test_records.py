"""Boxes and points as records from `rows: many` tables, `map` defaults, counts of other releases, slice order."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from cardkit import CLASS_LABEL, make_card, png

from covidct.card.model import Count
from covidct.layout import LayoutError, LayoutWarning, make_plan

BOX_LABEL = {"name": "boxes", "kind": "boxes", "granularity": "box", "source": ["radiologists"],
             "classes": [{"name": "opacity", "value": 0}]}


def _plan(card, root: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_plan(card, None, [root])


def _box_layout(columns: dict[str, str], **vf: object) -> dict[str, object]:
    return {
        "parts": {"pid": {"regex": "[a-z0-9]+"}},
        "files": {"image": {"pattern": "img/{pid}.png", "format": "png"}},
        "tables": {"boxes": {"path": "labels.csv", "format": "csv", "column": "patientId", "key": "{pid}",
                             "rows": "many"}},
        "labels": {"boxes": {"table": "boxes", "columns": columns, **vf}},
    }


def _rsna_like(tmp_path: Path) -> None:
    for pid in ("a1", "b2", "c3", "d4"):
        png(tmp_path / "img" / f"{pid}.png")
    (tmp_path / "labels.csv").write_text(
        "patientId,x,y,width,height,Target\n"
        "a1,264.0,152.0,213.0,379.0,1\n"
        "a1,562.0,152.0,256.0,453.0,1\n"
        "b2,,,,,0\n"
        "c3,10.5,20.25,30,40,1\n"
    )


def test_boxes_are_records_one_per_row_and_null_classes_drop_the_row(tmp_path: Path) -> None:
    _rsna_like(tmp_path)
    layout = _box_layout({"x": "x", "y": "y", "width": "width", "height": "height", "label": "Target"},
                         map={"1": "opacity", "0": None})
    recs = {r.path: r.labels["boxes"] for r in _plan(make_card(layout, [BOX_LABEL]), tmp_path).records()}
    assert recs["img/a1.png"] == [
        {"x": 264.0, "y": 152.0, "width": 213.0, "height": 379.0, "label": "opacity"},
        {"x": 562.0, "y": 152.0, "width": 256.0, "height": 453.0, "label": "opacity"},
    ]
    assert recs["img/b2.png"] == []  # Target 0 maps to null: the row is not a box
    assert recs["img/c3.png"] == [{"x": 10.5, "y": 20.25, "width": 30.0, "height": 40.0, "label": "opacity"}]
    assert recs["img/d4.png"] == []  # no row at all: no box


def test_rows_without_any_value_are_no_record_and_text_cells_are_an_error(tmp_path: Path) -> None:
    _rsna_like(tmp_path)
    points = {**BOX_LABEL, "kind": "points", "classes": []}
    layout = _box_layout({"x": "x", "y": "y"})
    recs = {r.path: r.labels["boxes"] for r in _plan(make_card(layout, [points]), tmp_path).records()}
    assert recs["img/b2.png"] == []  # every cell empty
    assert len(recs["img/a1.png"]) == 2
    # a class column without classes is text
    layout = _box_layout({"x": "x", "label": "Target"})
    recs = {r.path: r.labels["boxes"] for r in _plan(make_card(layout, [points]), tmp_path).records()}
    assert recs["img/b2.png"] == [{"x": None, "label": "0"}]
    # any other field is a number: a text cell says where and what to do
    layout = _box_layout({"x": "x", "kind": "patientId"})
    with pytest.raises(LayoutError, match=r"labels\.csv row 2, column 'patientId' \(field 'kind'\): 'a1' is not a "
                                          r"number.*name a text column `label`"):
        _plan(make_card(layout, [points]), tmp_path)


def test_map_default_gives_unlisted_values_and_without_it_they_are_errors(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        png(tmp_path / f"{name}.png")
    (tmp_path / "labels.csv").write_text("file,diag\na.png,COVID-19\nb.png,Pneumonia/Viral/SARS\nc.png,none\n")
    layout = {
        "parts": {"f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{f}.png", "format": "png"}},
        "tables": {"t": {"path": "labels.csv", "format": "csv", "column": "file", "key": "{_name}"}},
        "labels": {"label": {"table": "t", "column": "diag", "map": {"COVID-19": "covid", "none": None},
                             "default": "normal"}},
    }
    recs = {r.path: r.labels["label"] for r in _plan(make_card(layout, [CLASS_LABEL]), tmp_path).records()}
    assert recs == {"a.png": "covid", "b.png": "normal", "c.png": None}  # listed null stays unknown
    del layout["labels"]["label"]["default"]
    with pytest.raises(LayoutError, match=r"'Pneumonia/Viral/SARS'.*not in its `map`.*`default:`"):
        _plan(make_card(layout, [CLASS_LABEL]), tmp_path)


def test_box_records_with_a_default_class(tmp_path: Path) -> None:
    _rsna_like(tmp_path)
    layout = _box_layout({"x": "x", "label": "Target"}, map={"0": None}, default="opacity")
    recs = {r.path: r.labels["boxes"] for r in _plan(make_card(layout, [BOX_LABEL]), tmp_path).records()}
    assert recs["img/a1.png"] == [{"x": 264.0, "label": "opacity"}, {"x": 562.0, "label": "opacity"}]
    assert recs["img/b2.png"] == []


def _counted(card, counts: list[dict[str, object]]):
    card.configs[0].counts = [Count(**c) for c in counts]
    return card


def test_counts_of_another_release_or_an_absent_split_are_not_compared(tmp_path: Path) -> None:
    png(tmp_path / "covid" / "a.png")
    png(tmp_path / "normal" / "b.png")
    layout = {
        "parts": {"cls": {"regex": "covid|normal"}, "f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{cls}/{f}.png", "format": "png"}},
        "labels": {"label": {"part": "cls"}},
    }
    card = _counted(make_card(layout, [CLASS_LABEL]), [
        {"level": "images", "total": 2, "by_class": {"covid": 1, "normal": 1}},
        {"level": "images", "total": 2905, "by_class": {"covid": 219, "normal": 2686}, "release": "v1"},
        {"level": "images", "total": 7, "split": "test"},
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        make_plan(card, None, [tmp_path])
    card = _counted(card, [{"level": "images", "total": 3}])  # the same count without a release is compared
    with pytest.warns(LayoutWarning, match="the card counts 3 images; the data has 2"):
        make_plan(card, None, [tmp_path])


def test_box_counts_are_compared_with_the_records(tmp_path: Path) -> None:
    _rsna_like(tmp_path)
    layout = _box_layout({"x": "x", "label": "Target"}, map={"1": "opacity", "0": None})
    card = _counted(make_card(layout, [BOX_LABEL]), [{"level": "boxes", "total": 3}])
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        make_plan(card, None, [tmp_path])
    card = _counted(card, [{"level": "boxes", "total": 5}])
    with pytest.warns(LayoutWarning, match="the card counts 5 boxes; the data has 3"):
        make_plan(card, None, [tmp_path])


def test_a_scan_where_one_slice_lacks_slicelocation_is_ordered_by_one_attribute(tmp_path: Path) -> None:
    """Ordered by ImagePositionPatient for every slice, never SliceLocation for some and IPP for others."""
    np = pytest.importorskip("numpy")
    pytest.importorskip("pydicom")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "readers"))
    from readers_synth import ct_dicom

    # z along the scan; SliceLocation is z - 100 where present (as scanners write it), absent on c.dcm
    slices = {"a.dcm": (30.0, -70.0), "b.dcm": (10.0, -90.0), "c.dcm": (20.0, None), "d.dcm": (20.0, None)}
    (tmp_path / "s1").mkdir()
    for name, (z, loc) in slices.items():
        attrs = {"ImagePositionPatient": [0.0, 0.0, z], "ImageOrientationPatient": [1, 0, 0, 0, 1, 0]}
        if loc is not None:
            attrs["SliceLocation"] = loc
        ct_dicom(tmp_path / "s1" / name, np.zeros((4, 4), np.uint16), **attrs)
    layout = {
        "parts": {"scan": {"regex": "s[0-9]+"}, "f": {"regex": "[a-z]+"}},
        "files": {"image": {"pattern": "{scan}/{f}.dcm", "format": "dicom"}},
        "group": {"by": ["scan"], "order_by": "SliceLocation"},
    }
    image = {"formats": ["dicom"], "intensity": "hounsfield"}
    card = make_card(layout, example="scan", dimensionality="3D", image=image)
    (rec,) = _plan(card, tmp_path).records()
    # mixing would give b (-90), a (-70), c (20), d (20); ties (c, d) keep file-name order
    assert [Path(f).name for f in rec.files["image"]] == ["b.dcm", "c.dcm", "d.dcm", "a.dcm"]
    layout["group"]["descending"] = True
    (rec,) = _plan(make_card(layout, example="scan", dimensionality="3D", image=image), tmp_path).records()
    assert [Path(f).name for f in rec.files["image"]] == ["a.dcm", "c.dcm", "d.dcm", "b.dcm"]
    # slice examples take their position in that order
    per_slice = make_card(layout, example="slice", dimensionality="2D", image=image)
    pos = {Path(r.path).name: r.slice_index for r in _plan(per_slice, tmp_path).records()}
    assert pos == {"a.dcm": 0, "c.dcm": 1, "d.dcm": 2, "b.dcm": 3}


def test_a_scan_without_a_common_order_attribute_is_an_error(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("pydicom")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "readers"))
    from readers_synth import ct_dicom

    (tmp_path / "s1").mkdir()
    ct_dicom(tmp_path / "s1" / "a.dcm", np.zeros((4, 4), np.uint16), SliceLocation=1.0)
    ct_dicom(tmp_path / "s1" / "b.dcm", np.zeros((4, 4), np.uint16), InstanceNumber=2)
    layout = {
        "parts": {"scan": {"regex": "s[0-9]+"}, "f": {"regex": "[a-z]+"}},
        "files": {"image": {"pattern": "{scan}/{f}.dcm", "format": "dicom"}},
        "group": {"by": ["scan"], "order_by": "SliceLocation"},
    }
    card = make_card(layout, example="scan", dimensionality="3D",
                     image={"formats": ["dicom"], "intensity": "hounsfield"})
    with pytest.raises(LayoutError, match=r"scan 's1'.*cannot be ordered.*present in every slice"):
        list(_plan(card, tmp_path).records())


# a miniature copy: the card's counts (880 images, 984 boxes) cannot hold
@pytest.mark.filterwarnings("ignore:nih-chestxray14/detection. L506 the card counts:covidct.layout.plan.LayoutWarning")
def test_nih_box_list_with_its_published_header_gives_records_and_only_listed_images(tmp_path: Path) -> None:
    """BBox_List_2017.csv's header (`Image Index,Finding Label,Bbox [x,y,w,h],,,`) and first row, as quoted
    in the research notes: the bracket splits into four columns and three empty ones follow."""
    from covidct.registry import registry

    card = registry().get("nih-chestxray14")
    png(tmp_path / "images_001" / "images" / "00013118_008.png")
    png(tmp_path / "images_001" / "images" / "00000001_000.png")
    (tmp_path / "BBox_List_2017.csv").write_text(
        "Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
        "00013118_008.png,Atelectasis,225.084745762712,547.019216763771,86.7796610169491,79.1864406779661\n"
    )
    with pytest.warns(LayoutWarning, match="1 example.*no split"):  # not box-annotated: left out
        plan = make_plan(card, "detection", [tmp_path])
    assert plan.splits == ["bbox"]
    (rec,) = plan.records()
    assert rec.path == "images_001/images/00013118_008.png" and rec.patient == "00013118"
    assert rec.labels["boxes"] == [{"x": 225.084745762712, "y": 547.019216763771, "width": 86.7796610169491,
                                    "height": 79.1864406779661, "label": "Atelectasis"}]
