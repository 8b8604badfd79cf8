"""Finding files: literal prefixes, exclude, symlinks, unmatched files, clear errors."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from cardkit import CLASS_LABEL, make_card, png

from covidct.card.pattern import compile_glob, regex_can_match_slash
from covidct.layout import LayoutError, LayoutWarning, make_plan


@pytest.fixture
def png_tree(tmp_path: Path):
    def build(rels: list[str]) -> Path:
        for i, r in enumerate(rels):
            png(tmp_path / r, value=i)
        return tmp_path

    return build


LAYOUT = {
    "parts": {"cls": {"regex": "covid|normal"}, "name": {"regex": "[^/]+"}},
    "files": {"image": {"pattern": "img/{cls}/{name}.png", "format": "png"}},
    "exclude": ["**/.DS_Store"],
    "labels": {"label": {"part": "cls"}},
}


def test_finds_files_below_the_literal_prefix_only(png_tree) -> None:
    root = png_tree(["img/covid/a.png", "img/normal/b.png", "other/covid/c.png"])
    (root / "img" / "covid" / ".DS_Store").write_bytes(b"x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # other/ is never walked, .DS_Store is excluded: no warning
        plan = make_plan(make_card(LAYOUT, [CLASS_LABEL]), None, [root])
    recs = sorted(plan.records(), key=lambda r: r.path)
    assert [(r.path, r.labels["label"]) for r in recs] == [("img/covid/a.png", "covid"), ("img/normal/b.png", "normal")]


def test_unmatched_file_is_named_with_the_pattern(png_tree) -> None:
    root = png_tree(["img/covid/a.png", "img/other/b.png"])
    with pytest.warns(LayoutWarning, match=r"img/other/b\.png.*'other' does not match '\{cls\}'"):
        make_plan(make_card(LAYOUT, [CLASS_LABEL]), None, [root])


def test_no_image_is_an_error_naming_pattern_and_file(png_tree) -> None:
    root = png_tree(["img/COVID/a.png"])
    with pytest.raises(LayoutError, match=r"img/\{cls\}/\{name\}\.png.*img/COVID/a\.png"):
        make_plan(make_card(LAYOUT, [CLASS_LABEL]), None, [root])


def test_symlinks_are_refused(png_tree, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    png(outside / "secret.png")
    root = png_tree(["data/img/covid/a.png"]) / "data"
    os.symlink(outside / "secret.png", root / "img" / "covid" / "link.png")
    os.symlink(outside, root / "img" / "normal")
    with pytest.warns(LayoutWarning, match="symbolic link"):
        plan = make_plan(make_card(LAYOUT, [CLASS_LABEL]), None, [root])
    assert [r.path for r in plan.records()] == ["img/covid/a.png"]


def test_root_escaping_the_data_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    png(outside / "img" / "covid" / "a.png")
    data = tmp_path / "data"
    data.mkdir()
    os.symlink(outside, data / "root")
    with pytest.raises(LayoutError, match="outside the data folder"):
        make_plan(make_card({**LAYOUT, "root": "root"}, [CLASS_LABEL]), None, [data])


def test_missing_mask_names_the_expected_file(png_tree) -> None:
    layout = {
        "parts": {"scan": {"regex": "[0-9]+", "type": "int"}, "frame": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "image/{scan}/{frame}.png", "format": "png"},
                  "mask": {"pattern": "mask/{scan}/{frame}.png", "format": "png"}},
    }
    mask = {"name": "mask", "kind": "mask", "granularity": "pixel", "source": ["unknown"],
            "mask_values": [{"value": 0, "name": "bg"}, {"value": 1, "name": "lesion"}]}
    root = png_tree(["image/1/a.png", "image/1/b.png", "mask/1/a.png"])
    with pytest.raises(LayoutError, match=r"no mask file.*image/1/b\.png.*expected 'mask/1/b\.png'"):
        make_plan(make_card(layout, [mask]), None, [root])


def test_exclude_globs() -> None:
    assert compile_glob("**/.DS_Store").fullmatch("a/b/.DS_Store")
    assert compile_glob("README.txt").fullmatch("README.txt")
    assert compile_glob("__MACOSX/**").fullmatch("__MACOSX/a/b.png")
    assert not compile_glob("*.csv").fullmatch("a/b.png")


def test_regex_slash_detection() -> None:
    assert not regex_can_match_slash("[^/]+")
    assert not regex_can_match_slash("[0-9]+")
    assert regex_can_match_slash(".+")
    assert regex_can_match_slash(r"\S+")
