"""Warnings while reading a dataset's files (issue 12, item 6): each has a kind in the issue catalogue
(`L5xx`), its message from the kind's template, raised by one function (``card.issues.warn_data``)."""

from __future__ import annotations

import os
import string
import warnings
from pathlib import Path

import pytest
from cardkit import CLASS_LABEL, make_card, png

from covidct.card.issues import KINDS, LayoutWarning, ignore_data_warnings, warn_data
from covidct.layout import make_plan

MASK = {"name": "mask", "kind": "mask", "granularity": "pixel", "source": ["unknown"],
        "mask_values": [{"value": 0, "name": "bg"}, {"value": 1, "name": "lesion"}]}


def _codes(card, root: Path) -> dict[str, str]:
    """code -> message of every LayoutWarning raised while planning ``card`` over ``root``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_plan(card, None, [root])
    found = {}
    for w in caught:
        if issubclass(w.category, LayoutWarning):
            assert isinstance(w.message, LayoutWarning) and w.message.code in KINDS, str(w.message)
            found[w.message.code] = str(w.message)
    return found


def test_folder_warnings_have_codes(tmp_path: Path) -> None:
    """Symbolic links (L501), special files (L502), unmatched files (L503), orphan masks (L504)."""
    for p in ("image/1/a.png", "mask/1/a.png", "mask/1/z.png"):
        png(tmp_path / p)
    (tmp_path / "image" / "README.txt").write_text("notes\n")
    os.symlink(tmp_path / "image/1/a.png", tmp_path / "image/1/link.png")
    os.mkfifo(tmp_path / "image/1/pipe.png")
    layout = {
        "parts": {"scan": {"regex": "[0-9]+"}, "frame": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "image/{scan}/{frame}.png", "format": "png"},
                  "mask": {"pattern": "mask/{scan}/{frame}.png", "format": "png"}},
    }
    codes = _codes(make_card(layout, [MASK]), tmp_path)
    assert {"L501", "L502", "L503", "L504"} <= set(codes), codes
    assert codes["L501"].startswith(f"{make_card(layout).id}/") and " L501 1 symbolic link(s)" in codes["L501"]
    assert "L502 1 FIFO(s)" in codes["L502"]
    assert "L503 1 file(s) match no pattern" in codes["L503"] and "README.txt" in codes["L503"]
    assert "L504 1 mask file(s) have no image: e.g. 'mask/1/z.png'" in codes["L504"]


def test_split_and_count_warnings_have_codes(tmp_path: Path) -> None:
    """Examples in no split (L505), a total (L506) and per-class counts (L507) that differ from the card."""
    for p in ("covid/a.png", "covid/b.png"):
        png(tmp_path / p)
    (tmp_path / "train.txt").write_text("covid/a.png\n")
    layout = {
        "parts": {"cls": {"regex": "covid|normal"}, "f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{cls}/{f}.png", "format": "png"}},
        "labels": {"label": {"part": "cls"}},
        "splits": {"lists": {"train": ["train.txt"]}, "key": "{cls}/{f}.png"},
    }
    card = make_card(layout, [CLASS_LABEL])
    count_type = type(card.configs[0]).model_fields["counts"].annotation.__args__[0]
    card.configs[0].counts = [count_type(level="images", total=3, by_class={"covid": 2, "normal": 1})]
    codes = _codes(card, tmp_path)
    assert "L505 1 example(s) belong to no split" in codes["L505"]
    assert "L506 the card counts 3 images; the data has 2 (1 fewer)" in codes["L506"]
    assert "L507 images per class differ from the card: " in codes["L507"] and "normal: card 1, data 0" in codes["L507"]


def test_every_data_warning_template_fills_from_its_fields() -> None:
    """Each L kind's template names its fields; a call that misses one fails loudly, here, not in a user's run."""
    for code, kind in KINDS.items():
        if not code.startswith("L"):
            assert kind.template == "{message}", code  # located card issues are worded where they are found
            continue
        values = {name: 1 for _, name, _, _ in string.Formatter().parse(kind.template) if name}
        with pytest.warns(LayoutWarning, match=f"^x/y: {code} "):
            warn_data(code, "x/y", **values)
        with pytest.raises(KeyError):
            warn_data(code, "x/y")  # every template has at least one field


def test_ignoring_by_code_keeps_the_others() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ignore_data_warnings("L506")
        warn_data("L506", "x/y", card=3, level="images", in_split="", data=1, difference="2 fewer")
        warn_data("L505", "x/y", count=1)
    assert [w.message.code for w in caught] == ["L505"]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no issue kind"):
        ignore_data_warnings("L999")
