"""Layouts whose mask comes from run-length text in a table (`rle`), and a class from several rows of a table."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cardkit import make_card, png
from pydantic import ValidationError

from covidct.card.checks import check_card
from covidct.layout import LayoutError, make_plan

MASK = {"name": "mask", "kind": "mask", "granularity": "pixel", "source": ["unknown"],
        "mask_values": [{"value": 0, "name": "background", "unmapped": "t"},
                        {"value": 1, "name": "pneumothorax", "unmapped": "t"}]}
CLASS = {"name": "label", "kind": "class", "granularity": "image", "source": ["unknown"],
         "classes": [{"name": "no_pneumothorax", "value": 0, "unmapped": "t"},
                     {"name": "pneumothorax", "value": 1, "unmapped": "t"}]}
RLE = {"shape": [4, 3], "order": "column-major", "offsets": "relative", "empty": "-1"}


def _layout(**labels: Any) -> dict[str, Any]:
    return {
        "parts": {"image_id": {"regex": "[0-9.]+"}},
        "files": {"image": {"pattern": "images/{image_id}.png", "format": "png"}},
        "tables": {"rle": {"path": "train-rle.csv", "format": "csv", "column": "ImageId", "key": "{image_id}",
                           "rows": "many"}},
        "labels": labels,
    }


SIIM_LIKE = _layout(mask={"table": "rle", "column": "EncodedPixels", "rle": RLE},
                    label={"table": "rle", "column": "EncodedPixels", "map": {"-1": "no_pneumothorax"},
                           "default": "pneumothorax"})


def _data(tmp_path: Path, rows: str, ids: tuple[str, ...] = ("1.1", "1.2", "1.3")) -> Path:
    for i in ids:
        png(tmp_path / "images" / f"{i}.png")
    # the header and the empty marker have a leading space, as SIIM-ACR's train-rle.csv
    (tmp_path / "train-rle.csv").write_text("ImageId, EncodedPixels\n" + rows)
    return tmp_path


def _records(card: Any, root: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {r.path: r for r in make_plan(card, None, [root]).records()}


def test_a_class_from_several_rows_is_the_class_they_agree_on(tmp_path: Path) -> None:
    # before: the rows of a `rows: many` table reached the map as the text of a Python list ("[' -1']"), which the
    # map's default turned into `pneumothorax` for every image, the healthy ones too
    card = make_card(_layout(label={"table": "rle", "column": "EncodedPixels", "map": {"-1": "no_pneumothorax"},
                                    "default": "pneumothorax"}), [CLASS])
    recs = _records(card, _data(tmp_path, "1.1, -1\n1.2, 1 2\n1.2, 3 1\n"))
    assert recs["images/1.1.png"].labels["label"] == "no_pneumothorax"
    assert recs["images/1.2.png"].labels["label"] == "pneumothorax"
    assert recs["images/1.3.png"].labels["label"] is None  # no row: not known


def test_rows_that_give_different_classes_are_an_error_naming_them(tmp_path: Path) -> None:
    card = make_card(_layout(label={"table": "rle", "column": "EncodedPixels", "map": {"-1": "no_pneumothorax"},
                                    "default": "pneumothorax"}), [CLASS])
    with pytest.raises(LayoutError, match="rows give different classes"):
        _records(card, _data(tmp_path, "1.1, -1\n1.1, 1 2\n"))


def test_the_mask_is_the_union_of_the_rows_and_the_class_follows_it(tmp_path: Path) -> None:
    card = make_card(SIIM_LIKE, [MASK, CLASS])
    # 4 rows x 3 columns, column-major: pixel k is (k % 4, k // 4)
    recs = _records(card, _data(tmp_path, "1.1, -1\n1.2, 1 2\n1.2, 2 2\n"))
    assert recs["images/1.1.png"].labels["mask"] == []
    assert recs["images/1.3.png"].labels["mask"] is None
    from covidct.hf.features import rle_labels, rle_mask

    fmt, value = rle_labels(card.config(None))["mask"]
    got = rle_mask(recs["images/1.2.png"].labels["mask"], fmt, value, "x")
    want = np.zeros(12, dtype=np.uint8)
    want[[1, 2, 2, 3]] = 1
    assert np.array_equal(got, want.reshape(3, 4).T)
    assert recs["images/1.2.png"].labels["label"] == "pneumothorax"


def test_a_bad_cell_is_one_error_naming_the_table_row(tmp_path: Path) -> None:
    card = make_card(SIIM_LIKE, [MASK, CLASS])
    with pytest.raises(LayoutError) as err:
        _records(card, _data(tmp_path, "1.1, -1\n1.2, 5 -3\n"))
    text = str(err.value)
    assert "train-rle.csv row 3" in text and "EncodedPixels" in text and "'-'" in text
    with pytest.raises(LayoutError, match="beyond the 12 pixels"):
        _records(card, _data(tmp_path, "1.2, 0 99\n"))


def test_misused_rle_rules_are_card_errors() -> None:
    on_class = make_card(_layout(label={"table": "rle", "column": "EncodedPixels", "rle": RLE}), [CLASS])
    assert [(f.code, f.path[-1]) for f in check_card(on_class) if f.code == "C324"] == [("C324", "rle")]
    three = {**MASK, "mask_values": [*MASK["mask_values"], {"value": 2, "name": "other", "unmapped": "t"}]}
    ambiguous = make_card(_layout(mask={"table": "rle", "column": "EncodedPixels", "rle": RLE}), [three])
    assert "C324" in [f.code for f in check_card(ambiguous)]
    named = make_card(_layout(mask={"table": "rle", "column": "EncodedPixels", "rle": {**RLE, "value": "other"}}),
                      [three])
    assert "C324" not in [f.code for f in check_card(named)]
    unknown = make_card(_layout(mask={"table": "rle", "column": "EncodedPixels", "rle": {**RLE, "value": "othr"}}),
                        [three])
    assert [f.code for f in check_card(unknown) if f.path[-1] == "value"] == ["C324"]
    with pytest.raises(ValidationError, match="`rle` reads run-length text from one table column"):
        make_card(_layout(mask={"part": "image_id", "rle": RLE}), [MASK])
    with pytest.raises(ValidationError):
        make_card(_layout(mask={"table": "rle", "column": "EncodedPixels", "rle": {**RLE, "order": "diagonal"}}),
                  [MASK])


def test_show_says_how_the_run_length_text_is_read() -> None:
    from covidct.render.text import layout_lines

    card = make_card(SIIM_LIKE, [MASK, CLASS])
    lines = "\n".join(layout_lines(card.config(None).layout, ""))
    assert "run-length text (relative offsets, column-major, 4x3, '-1' = no runs; rows united)" in lines


def test_an_unmapped_long_cell_is_shown_shortened(tmp_path: Path) -> None:
    # a class label whose map forgot the default: the error quotes the cell, which may be megabytes of runs
    card = make_card(_layout(label={"table": "rle", "column": "EncodedPixels", "map": {"-1": "no_pneumothorax"}}),
                     [CLASS])
    with pytest.raises(LayoutError) as err:
        _records(card, _data(tmp_path, "1.1, " + "1 2 " * 50_000 + "\n"))
    assert "is not in its `map`" in str(err.value) and len(str(err.value)) < 600
