"""The names-only fast path of `covidct check` gives the report of the file-by-file path, exactly.

Both paths run on generated names (and, in tests/test_listings.py, on every real listing) for layouts that
exercise what the fast path short-cuts: matching level by level (a part on two levels, `**`, int
parts whose "01" and "1" are one scan), counting per distinct key (scans, classes, patients,
splits from parts and from tables, whole-scan examples), and handing over to the full path (errors,
warnings, masks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cardkit import both_paths, make_card
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from covidct.card.model import Card
from covidct.card.pattern import parse
from covidct.layout.check import CheckError
from covidct.layout.fastcheck import LevelMatcher

# ------------------------------------------------------------------------------------ generated names

LABELS = [{"name": "label", "kind": "class", "granularity": "scan", "source": ["unknown"],
           "classes": [{"name": "NCP", "value": 0}, {"name": "CP", "value": 1}, {"name": "Normal", "value": 2}]}]
PARTS = {"cls": {"regex": "NCP|CP|Normal"}, "patient": {"regex": "[0-9]+"}, "scan": {"regex": "[0-9]+"},
         "slice": {"regex": "[0-9]+", "type": "int"}}
LAYOUTS: dict[str, tuple[dict[str, Any], str]] = {
    # CNCB's shape: one example per slice, grouped into scans (the benchmark's card)
    "slices": ({"parts": PARTS, "files": {"image": {"pattern": "{cls}/{patient}/{scan}/{slice}.jpg", "format": "jpeg"}},
                "labels": {"label": {"part": "cls"}}, "patient": {"part": "patient"},
                "group": {"by": ["cls", "patient", "scan"], "order_part": "slice"},
                "exclude": ["**/*.tmp"]}, "slice"),
    # one example per scan; the scan id is an int part ("01" and "1" are one scan)
    "scans": ({"parts": {**PARTS, "scan": {"regex": "[0-9]+", "type": "int"}},
               "files": {"image": {"pattern": "{cls}/{patient}/{scan}/{slice}.jpg", "format": "jpeg"}},
               "labels": {"label": {"part": "cls"}}, "patient": {"part": "patient"},
               "group": {"by": ["patient", "scan"], "order_part": "slice"}}, "scan"),
    # ungrouped images, a part on two levels, a split from a part with a map (null: no split, an error if unmapped)
    "twice": ({"parts": {"cls": {"regex": "NCP|CP|Normal"}, "patient": {"regex": "[0-9]+"},
                         "sp": {"regex": "tr|te|xx|zz"}},
               "files": {"image": {"pattern": "{sp}/{cls}/{patient}_{cls}.jpg", "format": "jpeg"}},
               "labels": {"label": {"part": "cls"}}, "patient": {"part": "patient"},
               "splits": {"by": {"part": "sp", "map": {"tr": "train", "te": "test", "xx": None}}}}, "image"),
    # a pattern matched whole (`**`), files in the root, a wildcard
    "deep": ({"parts": {"cls": {"regex": "NCP|CP|Normal"}},
              "files": {"image": {"pattern": "**/{cls}_*.jpg", "format": "jpeg"}},
              "labels": {"label": {"part": "cls"}}}, "image"),
    # splits from lists of file names ({_name}): unlisted files belong to no split (a note), some to two
    "named": ({"parts": {"cls": {"regex": "NCP|CP|Normal"}},
               "files": {"image": {"pattern": "{cls}/{f}.jpg", "format": "jpeg"}},
               "labels": {"label": {"part": "cls"}},
               "splits": {"key": "{_name}", "lists": {"train": ["train.txt"], "test": ["test.txt"]}}}, "image"),
    # labels from a table joined on a part, slices of scans; a table matched by a pattern
    "table": ({"parts": PARTS, "files": {"image": {"pattern": "{cls}/{patient}/{scan}/{slice}.jpg", "format": "jpeg"}},
               "tables": {"labels": {"path": "labels.csv", "format": "csv", "key": "{patient}", "column": "patient"},
                          "extra": {"path": "meta/{cls}.csv", "format": "csv", "key": "{patient}",
                                    "column": "patient"}},
               "labels": {"label": {"table": "labels", "column": "class"}}, "patient": {"part": "patient"},
               "group": {"by": ["patient", "scan"], "order_part": "slice"}}, "slice"),
}
DATA = {"train.txt": "0.jpg\n1.jpg\n", "test.txt": "1.jpg\n01.jpg\n",
        "labels.csv": "patient,class\n0,NCP\n1,CP\n12,Normal\n", "meta/NCP.csv": "patient\n0\n"}
POOLS = {"cls": ["NCP", "CP", "x"], "num": ["01", "1", "0"],
         "sp": ["tr", "te", "xx", "zz"], "slice": ["0.jpg", "1.jpg", "01.jpg", "a.jpg", "1.tmp"],
         "any": ["a", "NCP", "1", ".", "é", "images", "", "Normal"],
         "file": ["0.jpg", "01.jpg", "1.jpg", "1_NCP.jpg", "2_CP.jpg", "1_CP.jpg", "NCP_1.jpg", "CP_.jpg", "x.tmp",
                  "README.md", ".DS_Store", "a.jpg", "NCP.csv", "labels.csv", "train.txt"]}
SHAPES = [*[("cls", "num", "num", "slice")] * 3, ("sp", "cls", "file"), ("any", "file"), ("file",),
          ("any", "any", "file"), ("cls", "file"), ("cls", "num", "file"), ("any", "cls", "num", "num", "file")]
name_st = (st.sampled_from(SHAPES).flatmap(lambda shape: st.tuples(*[st.sampled_from(POOLS[p]) for p in shape]))
           .map("/".join) | st.text("NCP01/._", min_size=1, max_size=12))
names_st = st.lists(name_st, max_size=12)


def _card(name: str) -> Card:
    layout, example = LAYOUTS[name]
    card = make_card(layout, LABELS, example=example, image={"formats": ["jpeg"], "intensity": "windowed-8bit"})
    data = card.model_dump(mode="json", exclude_none=True)
    data["configs"][0]["counts"] = [{"level": "patients", "total": 2}, {"level": "slices", "total": 5},
                                    {"level": "images", "total": 3, "by_class": {"NCP": 2, "CP": 1}}]
    return Card.model_validate(data)


CARDS_BY_LAYOUT = {name: _card(name) for name in LAYOUTS}


def _run(layout: str, names: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict, bool]:
    data = tmp_path / "data"
    for rel, text in DATA.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(text, encoding="utf-8")
    listing = tmp_path / "listing.txt"
    listing.write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    return both_paths(CARDS_BY_LAYOUT[layout], None, monkeypatch, listing=listing, data_dir=data)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=names_st)
def test_both_paths_give_one_report_on_generated_names(layout: str, names: list[str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    names = [n for n in names if n.strip() == n and not n.startswith("/") and ".." not in n.split("/")]
    try:
        full, fast, _used = _run(layout, names, tmp_path, monkeypatch)
    except CheckError:  # a listing refused before either path runs ('.//x' is '/x')
        assume(False)
    assert fast == full


@pytest.mark.parametrize(("layout", "names"), [
    ("slices", ["NCP/1/0/1.jpg", "NCP/1/0/2.jpg", "CP/2/0/1.jpg", "README.md", "x/y.jpg", "NCP/1/0/z.tmp"]),
    ("scans", ["NCP/1/01/1.jpg", "NCP/1/1/2.jpg", "CP/2/1/1.jpg"]),
    ("twice", ["tr/NCP/1_NCP.jpg", "te/CP/2_CP.jpg", "tr/NCP/1_CP.jpg", "xx/CP/3_CP.jpg"]),
    ("deep", ["a/b/NCP_1.jpg", "CP_2.jpg", "NCP.jpg"]),
    ("named", ["NCP/0.jpg", "CP/1.jpg", "CP/01.jpg", "NCP/2.jpg", "train.txt"]),
    ("table", ["NCP/1/0/1.jpg", "NCP/1/0/2.jpg", "CP/12/0/1.jpg", "CP/01/0/1.jpg", "meta/NCP.csv", "labels.csv"]),
])
def test_the_fast_path_applies_to_each_generated_layout(layout: str, names: list[str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    full, fast, used = _run(layout, names, tmp_path, monkeypatch)
    assert used and fast == full
    assert full["examples"]["all"] > 0 and full["error"] is None


@pytest.mark.parametrize(("layout", "names", "why"), [
    ("scans", ["NCP/1/1/1.jpg", "CP/1/1/2.jpg"], "a scan whose slices disagree on its class: an error"),
    ("twice", ["tr/NCP/1_NCP.jpg", "zz/CP/2_CP.jpg"], "a split value the map lacks: an error"),
    ("slices", ["x/1.jpg", "NCP/1/0/a.jpg"], "no image matches: an error"),
])
def test_on_an_error_the_full_path_reports(layout: str, names: list[str], why: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    full, fast, used = _run(layout, names, tmp_path, monkeypatch)
    assert full["error"] and not used and fast == full, why


@given(st.lists(st.sampled_from(["1", "01", "a", "1.jpg", "NCP", "x_y", "", "é"]), min_size=1,
                max_size=5).map("/".join))
def test_a_pattern_matched_by_levels_gives_what_it_gives_whole(rel: str) -> None:
    rx = {"a": "[0-9]+", "b": "[^/]+", "c": "[a-z]*"}
    for text in ("{a}/{b}", "{a}/{a}.jpg", "{b}_{c}/{a}", "{a}/x/{b}{c}", "*/{a}*", "{b}/{b}/{b}", "{c}{a}/{c}"):
        pat = parse(text, tuple(rx.items()))
        m = LevelMatcher(pat, rx, tuple(rx))
        assert not m.whole
        cut = rel.rfind("/") + 1
        dv = m.folder(rel[:cut - 1].split("/") if cut else [])
        hit = m.file(rel[cut:]) if dv is not None else None
        got = None
        if dv is not None and hit is not None and all(dv[p] == hit[0][p] for p in m.cross):
            got = {**dv, **hit[0]}
        assert got == pat.match(rel), (text, rel)
