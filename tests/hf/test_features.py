"""Features from a card: ClassLabel by class value, masks with their value map, lossless 16-bit images, HU arrays."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layout"))
from cardkit import make_card

datasets = pytest.importorskip("datasets")

from covidct.hf.builder import builder_for  # noqa: E402
from covidct.hf.features import description, features_for, label_values  # noqa: E402
from covidct.hf.load import prepare  # noqa: E402

SPARSE = {"name": "label", "kind": "class", "granularity": "image", "source": ["unknown"],
          "classes": [{"name": "c", "value": 7}, {"name": "a", "value": 0}, {"name": "b", "value": 3}]}
MASK = {"name": "mask", "kind": "mask", "granularity": "pixel", "source": ["unknown"],
        "mask_values": [{"value": 0, "name": "background"}, {"value": 300, "name": "lesion"}]}
LAYOUT = {
    "parts": {"cls": {"regex": "[0-9]+"}, "f": {"regex": "[^/]+"}},
    "files": {"image": {"pattern": "img/{cls}/{f}.png", "format": "png"},
              "mask": {"pattern": "mask/{cls}/{f}.png", "format": "png"}},
    "labels": {"label": {"part": "cls"}},
}


def test_classlabel_is_ordered_by_value_and_keeps_card_values() -> None:
    card = make_card(LAYOUT, [SPARSE, MASK], image={"formats": ["png"], "bit_depth": [16], "intensity": "raw-16bit"})
    cfg = card.config()
    feats = features_for(card, cfg)
    assert feats["label"].names == ["a", "b", "c"]
    assert isinstance(feats["image"], datasets.Image) and feats["image"].mode is None
    assert isinstance(feats["mask"], datasets.Image)
    info = label_values(cfg)
    assert [(c["index"], c["card_value"]) for c in info["label"]["classes"]] == [(0, 0), (1, 3), (2, 7)]
    assert info["mask"]["mask_values"] == {"0": "background", "300": "lesion"}
    text = description(card, cfg)
    assert "2 = c (card value 7)" in text and "300 = lesion" in text
    meta = json.loads(text.split("covidct:", 1)[1])
    assert meta["intensity"] == "raw-16bit"


def test_16bit_png_and_mask_values_survive(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    data = tmp_path / "data"
    img = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 60 + 300).astype(np.uint16)
    mask = np.zeros((8, 8), np.uint16)
    mask[2:4] = 300
    for cls in ("0", "7"):
        (data / "img" / cls).mkdir(parents=True)
        (data / "mask" / cls).mkdir(parents=True)
        Image.fromarray(img).save(data / "img" / cls / "x.png")
        Image.fromarray(mask).save(data / "mask" / cls / "x.png")
    card = make_card(LAYOUT, [SPARSE, MASK], image={"formats": ["png"], "bit_depth": [16], "intensity": "raw-16bit"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = prepare(builder_for(card, data_dir=data, cache_dir=tmp_path / "c"))["train"]
    rows = sorted(ds, key=lambda r: r["path"])
    assert [ds.features["label"].int2str(r["label"]) for r in rows] == ["a", "c"]
    for r in rows:
        assert r["image"].mode.startswith("I;16")
        assert np.array_equal(np.asarray(r["image"]), img)
        assert np.array_equal(np.asarray(r["mask"]), mask)


def test_dicom_slices_are_signed_hu_arrays_with_fixed_size() -> None:
    layout = {"parts": {"f": {"regex": "[^/]+"}}, "files": {"image": {"pattern": "{f}.dcm", "format": "dicom"}}}
    card = make_card(layout, example="slice",
                     image={"formats": ["dicom"], "intensity": "hounsfield", "size": {"min": [512, 512],
                                                                                       "max": [512, 512]}})
    feats = features_for(card, card.config())
    assert isinstance(feats["image"], datasets.Array2D)
    assert feats["image"].dtype == "int16" and feats["image"].shape == (512, 512)
    assert "spacing" in feats


def test_boxes_and_points_are_lists_of_records() -> None:
    box = {"name": "boxes", "kind": "boxes", "granularity": "box", "source": ["radiologists"],
           "classes": [{"name": "opacity", "value": 1}, {"name": "nodule", "value": 0}]}
    layout = {
        "parts": {"f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{f}.png", "format": "png"}},
        "tables": {"t": {"path": "boxes.csv", "format": "csv", "column": "file", "key": "{_name}", "rows": "many"}},
        "labels": {"boxes": {"table": "t", "columns": {"x": "bx", "y": "by", "label": "kind"}}},
    }
    feats = features_for(make_card(layout, [box]), make_card(layout, [box]).config())
    inner = feats["boxes"].feature
    assert list(inner) == ["x", "y", "label"]
    assert inner["x"] == datasets.Value("float32") and inner["label"].names == ["nodule", "opacity"]
    untyped = {**box, "kind": "points", "classes": []}
    card = make_card(layout, [untyped])
    assert features_for(card, card.config())["boxes"].feature["label"] == datasets.Value("string")
