"""Interpreting layouts: joins, maps, splits, grouping and ordering, patient-level splits, count warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from cardkit import CLASS_LABEL, make_card, png

from covidct.layout import LayoutError, LayoutWarning, make_plan


def _plan(card, root: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_plan(card, None, [root])


def test_table_join_on_int_part_ignores_leading_zeros(tmp_path: Path) -> None:
    for p in ("0007/a.png", "0010/b.png"):
        png(tmp_path / p)
    (tmp_path / "labels.csv").write_text("id,diag\n7,covid\n10,no\n")
    layout = {
        "parts": {"patient": {"regex": "[0-9]+", "type": "int"}, "f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{patient}/{f}.png", "format": "png"}},
        "tables": {"t": {"path": "labels.csv", "format": "csv", "column": "id", "key": "{patient}"}},
        "labels": {"label": {"table": "t", "column": "diag", "map": {"covid": "covid", "no": "normal"}}},
        "patient": {"part": "patient"},
    }
    recs = {r.path: r for r in _plan(make_card(layout, [CLASS_LABEL]), tmp_path).records()}
    assert recs["0007/a.png"].labels["label"] == "covid"
    assert recs["0010/b.png"].labels["label"] == "normal"
    assert recs["0007/a.png"].patient == "0007"


def test_unmapped_value_is_an_error_and_null_means_unknown(tmp_path: Path) -> None:
    png(tmp_path / "a.png")
    png(tmp_path / "b.png")
    (tmp_path / "labels.csv").write_text("file,diag\na.png,positive\nb.png,uncertain\n")
    layout = {
        "parts": {"f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{f}.png", "format": "png"}},
        "tables": {"t": {"path": "labels.csv", "format": "csv", "column": "file", "key": "{_name}"}},
        "exclude": ["labels.csv"],
        "labels": {"label": {"table": "t", "column": "diag", "map": {"positive": "covid"}}},
    }
    with pytest.raises(LayoutError, match=r"'uncertain'.*not in its `map`"):
        _plan(make_card(layout, [CLASS_LABEL]), tmp_path)
    layout["labels"]["label"]["map"]["uncertain"] = None
    recs = {r.path: r.labels["label"] for r in _plan(make_card(layout, [CLASS_LABEL]), tmp_path).records()}
    assert recs == {"a.png": "covid", "b.png": None}


def test_split_lists_and_left_out_examples(tmp_path: Path) -> None:
    for n in ("a", "b", "c"):
        png(tmp_path / "img" / f"{n}.png")
    (tmp_path / "train.txt").write_text("a.png\n")
    (tmp_path / "test.txt").write_text("b.png\n")
    layout = {
        "parts": {"f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "img/{f}.png", "format": "png"}},
        "splits": {"lists": {"train": ["train.txt"], "test": ["test.txt"]}},
    }
    with pytest.warns(LayoutWarning, match="1 example.*no split"):
        plan = make_plan(make_card(layout), None, [tmp_path])
    assert plan.splits == ["train", "test"]
    assert [r.path for r in plan.records("test")] == ["img/b.png"]


def test_numbered_slices_group_into_scans_in_numeric_order(tmp_path: Path) -> None:
    for n in (1, 2, 9, 10):
        png(tmp_path / "s1" / f"{n}.png", value=n)
    layout = {
        "parts": {"scan": {"regex": "s[0-9]+"}, "n": {"regex": "[0-9]+", "type": "int"}},
        "files": {"image": {"pattern": "{scan}/{n}.png", "format": "png"}},
        "group": {"by": ["scan"], "order_part": "n", "descending": True},
    }
    card = make_card(layout, example="scan", dimensionality="3D")
    (rec,) = _plan(card, tmp_path).records()
    assert [Path(f).name for f in rec.files["image"]] == ["10.png", "9.png", "2.png", "1.png"]
    assert rec.scan == "s1"


def test_patient_level_split_never_shares_a_patient(tmp_path: Path) -> None:
    for p in range(12):
        for s in range(1 + p % 3):
            png(tmp_path / f"p{p}" / f"s{s}.png")
    layout = {
        "parts": {"patient": {"regex": "p[0-9]+"}, "s": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{patient}/{s}.png", "format": "png"}},
        "patient": {"part": "patient"},
    }
    card = make_card(layout)
    for seed in range(5):
        plan = _plan(card, tmp_path)
        plan.resplit("patient", 0.25, seed)
        train = {r.patient for r in plan.records("train")}
        test = {r.patient for r in plan.records("test")}
        assert train and test and not train & test
        assert len(test) == 3
        assert plan.count() == sum(1 + p % 3 for p in range(12))
    no_patient = make_card({k: v for k, v in layout.items() if k != "patient"})
    with pytest.raises(LayoutError, match="no patient id"):
        _plan(no_patient, tmp_path).resplit("patient", 0.2, 0)


def test_count_differences_are_warned_by_name(tmp_path: Path) -> None:
    png(tmp_path / "covid" / "a.png")
    layout = {
        "parts": {"cls": {"regex": "covid|normal"}, "f": {"regex": "[^/]+"}},
        "files": {"image": {"pattern": "{cls}/{f}.png", "format": "png"}},
        "labels": {"label": {"part": "cls"}},
    }
    counts = [{"level": "images", "total": 3, "by_class": {"covid": 2, "normal": 1}}]
    card = make_card(layout, [CLASS_LABEL])
    card.configs[0].counts = [type(card.configs[0]).model_fields["counts"].annotation.__args__[0](**c)
                              for c in counts]
    with pytest.warns(LayoutWarning) as caught:
        make_plan(card, None, [tmp_path])
    msgs = " ".join(str(w.message) for w in caught)
    assert "the card counts 3 images; the data has 1 (2 fewer)" in msgs
    assert "covid: card 2, data 1" in msgs
