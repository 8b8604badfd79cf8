"""Values combined from several parts (`template`) and one-column-per-fold split tables (`splits.columns`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from cardkit import make_card, png
from pydantic import ValidationError

from conftest import need
from covidct.card.checks import check_card
from covidct.layout import LayoutError, make_plan


def _plan(card, root: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_plan(card, None, [root])


def _chexpert_like(tmp_path: Path) -> None:
    # study1 exists for both patients: the study part alone is not a scan id
    for p, s, v in [("patient1", "study1", "view1"), ("patient1", "study1", "view2"), ("patient1", "study2", "view1"),
                    ("patient2", "study1", "view1")]:
        png(tmp_path / p / s / f"{v}.png")


def _layout(**extra: object) -> dict[str, object]:
    return {
        "parts": {"patient": {"regex": "patient[0-9]+"}, "study": {"regex": "study[0-9]+"},
                  "view": {"regex": "view[0-9]+"}},
        "files": {"image": {"pattern": "{patient}/{study}/{view}.png", "format": "png"}},
        "patient": {"part": "patient"},
        **extra,
    }


def test_a_scan_id_combined_from_patient_and_study_counts_each_study_once(tmp_path: Path) -> None:
    _chexpert_like(tmp_path)
    plan = _plan(make_card(_layout(scan={"template": "{patient}/{study}"})), tmp_path)
    assert sorted(r.scan for r in plan.records()) == ["patient1/study1", "patient1/study1", "patient1/study2",
                                                      "patient2/study1"]
    assert len(plan.tally().scans[None]) == 3
    old = _plan(make_card(_layout(scan={"part": "study"})), tmp_path)
    assert len(old.tally().scans[None]) == 2  # what `scan: {part: study}` counted: study1 of two patients is one


def test_a_template_with_a_map_and_as_a_field(tmp_path: Path) -> None:
    _chexpert_like(tmp_path)
    card = make_card(_layout(fields={"visit": {"template": "{patient}-{study}", "map": {"patient2-study1": "first"},
                                               "default": "other"}}))
    got = {r.path: r.fields["visit"] for r in _plan(card, tmp_path).records()}
    assert got["patient2/study1/view1.png"] == "first" and got["patient1/study2/view1.png"] == "other"


def test_a_template_with_an_unknown_part_is_located_and_a_template_with_another_source_is_refused() -> None:
    card = make_card(_layout(scan={"template": "{patient}/{series}"}))
    found = [(f.code, f.path[-1]) for f in check_card(card)]
    assert ("C307", "template") in found
    with pytest.raises(ValidationError, match="exactly one of `part`, `template`"):
        make_card(_layout(scan={"template": "{patient}", "part": "patient"}))


def _folds(tmp_path: Path, text: str) -> None:
    for i in range(1, 7):
        png(tmp_path / "img" / f"LNDb-{i:04d}.png")
    (tmp_path / "trainFolds.csv").write_text(text)


def _fold_layout(**splits: object) -> dict[str, object]:
    return {
        "parts": {"scan": {"regex": "[0-9]{4}", "type": "int"}},
        "files": {"image": {"pattern": "img/LNDb-{scan}.png", "format": "png"}},
        "tables": {"folds": {"path": "trainFolds.csv", "format": "csv", "column": "Fold0", "key": "{scan}"}},
        "scan": {"part": "scan"},
        "splits": {"table": "folds", "key": "{scan}", **splits},
    }


def test_one_column_per_fold_gives_each_example_its_fold(tmp_path: Path) -> None:
    # LNDb's trainFolds.csv: header Fold0..Fold3, each column the LNDbIDs of one fold; columns may be ragged
    _folds(tmp_path, "Fold0,Fold1,Fold2\n1,2,4\n3,5,\n")
    plan = _plan(make_card(_fold_layout(columns={"fold0": "Fold0", "fold1": "Fold1", "fold2": "Fold2"})), tmp_path)
    assert plan.splits == ["fold0", "fold1", "fold2"]
    got = {r.path: r.split for r in plan.records()}
    assert got == {"img/LNDb-0001.png": "fold0", "img/LNDb-0003.png": "fold0", "img/LNDb-0002.png": "fold1",
                   "img/LNDb-0005.png": "fold1", "img/LNDb-0004.png": "fold2"}
    assert plan.dropped == 1  # LNDb-0006 is in no fold


def test_a_missing_fold_column_is_one_error_that_names_the_columns(tmp_path: Path) -> None:
    _folds(tmp_path, "Fold0,Fold1\n1,2\n")
    with pytest.raises(LayoutError, match=r"no column 'Fold2'.*Fold1"):
        _plan(make_card(_fold_layout(columns={"fold0": "Fold0", "fold2": "Fold2"})), tmp_path)


def test_split_columns_are_checked_when_the_card_is_validated() -> None:
    bad = make_card(_fold_layout(columns={"fold1": "Fold1", "fold2": "Fold1"}))
    found = [(f.code, f.path[-1]) for f in check_card(bad)]
    assert ("C321", "table") in found  # the table is read by Fold0, which gives no split
    assert ("C321", "fold2") in found and ("C321", "fold1") not in found
    lay = _fold_layout(columns={"fold0": "Fold0"})
    lay["splits"]["table"] = "fold"  # type: ignore[index]
    assert ("C311", "table") in [(f.code, f.path[-1]) for f in check_card(make_card(lay))]
    with pytest.raises(ValidationError, match="`columns` and `table` go together"):
        make_card(_fold_layout(lists={"train": ["train.txt"]}))




def test_show_and_the_site_say_where_combined_ids_and_fold_columns_come_from() -> None:
    from covidct.render.text import layout_lines

    card = make_card(_fold_layout(columns={"fold0": "Fold0", "fold1": "Fold<1>"}) | {"patient": {
        "template": "{scan}-<b>"}})
    lay = card.configs[0].layout
    text = "\n".join(layout_lines(lay, ""))
    assert "parts combined as {scan}-<b>" in text and "fold1: column Fold<1>" in text
    need("jinja2")
    from covidct.site.sections import PageContext, dataset_markdown

    page = dataset_markdown(PageContext(card=card, cards={card.id: card}, page_url=lambda o: None))
    assert "parts combined as <code>{scan}-&lt;b&gt;</code>" in page
    assert "<code>fold1</code> in column <code>Fold&lt;1&gt;</code>" in page


FINDINGS = {"name": "findings", "kind": "multi-label", "granularity": "study", "source": ["nlp-mined"],
            "classes": [{"name": "atelectasis", "value": 0}, {"name": "atelectasis_uncertain", "value": 1},
                        {"name": "edema", "value": 2}]}
ONE_ZERO_MINUS_ONE = {"1.0": "atelectasis", "-1.0": "atelectasis_uncertain", "0.0": None}


def _chexpert_table(tmp_path: Path, rows: str) -> dict[str, object]:
    _chexpert_like(tmp_path)
    (tmp_path / "train.csv").write_text("Path,Atelectasis,Edema\n" + rows)
    return _layout(tables={"labels": {"path": "train.csv", "format": "csv", "column": "Path", "key": "{_path}"}},
                   labels={"findings": {"table": "labels", "label_columns": {
                       "Atelectasis": ONE_ZERO_MINUS_ONE, "Edema": {"1.0": "edema", "0.0": None, "-1.0": None}}}})


def test_one_column_per_class_gives_a_multi_label_with_uncertainty_kept_and_blanks_unset(tmp_path: Path) -> None:
    layout = _chexpert_table(tmp_path, "patient1/study1/view1.png,1.0,1.0\npatient1/study1/view2.png,-1.0,\n"
                                       "patient1/study2/view1.png,0.0,-1.0\npatient2/study1/view1.png,,\n")
    got = {r.path: r.labels["findings"] for r in _plan(make_card(layout, [FINDINGS]), tmp_path).records()}
    assert got == {"patient1/study1/view1.png": ["atelectasis", "edema"],
                   "patient1/study1/view2.png": ["atelectasis_uncertain"],
                   "patient1/study2/view1.png": [], "patient2/study1/view1.png": []}


def test_a_cell_its_column_map_lacks_is_one_error_that_names_the_row(tmp_path: Path) -> None:
    layout = _chexpert_table(tmp_path, "patient1/study1/view1.png,2.0,\n")
    with pytest.raises(LayoutError, match=r"train.csv row 2, column 'Atelectasis'.*'2.0'.*not in its `map`"):
        list(_plan(make_card(layout, [FINDINGS]), tmp_path).records())


def test_label_columns_are_checked_when_the_card_is_validated(tmp_path: Path) -> None:
    layout = _chexpert_table(tmp_path, "")
    layout["labels"]["findings"]["label_columns"]["Edema"]["1.0"] = "oedema"  # type: ignore[index]
    found = [(f.code, f.path[-1]) for f in check_card(make_card(layout, [FINDINGS]))]
    assert ("C304", "1.0") in found
    single = {**FINDINGS, "kind": "class"}
    assert "C323" in [f.code for f in check_card(make_card(_chexpert_table(tmp_path, ""), [single]))]
    with pytest.raises(ValidationError, match="`table` needs a `column`"):
        make_card(_layout(labels={"findings": {"table": "t", "column": "c", "label_columns": {"c": {}}}}), [FINDINGS])


def test_fixtures_write_label_columns_and_combined_ids_that_load_back(tmp_path: Path) -> None:
    from covidct.fixtures import synthesize

    layout = _chexpert_table(tmp_path / "unused", "")
    layout["scan"] = {"template": "{patient}/{study}"}
    card = make_card(layout, [FINDINGS])
    manifest = synthesize(card, None, tmp_path / "data")
    want = {e.path: e.labels["findings"] for e in manifest.examples}
    got = {r.path: r.labels["findings"] for r in _plan(card, tmp_path / "data").records()}
    assert got == want
    assert {tuple(v) for v in want.values()} >= {(), ("atelectasis", "edema"), ("atelectasis_uncertain",)}


def test_show_and_the_site_say_which_column_gives_which_class(tmp_path: Path) -> None:
    from covidct.render.text import layout_lines

    layout = _chexpert_table(tmp_path, "")
    layout["labels"]["findings"]["label_columns"]["<Edema>"] = {"1.0": "edema"}  # type: ignore[index]
    card = make_card(layout, [FINDINGS])
    text = "\n".join(layout_lines(card.configs[0].layout, ""))
    assert "one column per class: Atelectasis 1.0 -> atelectasis, -1.0 -> atelectasis_uncertain" in text
    need("jinja2")
    from covidct.site.sections import PageContext, dataset_markdown

    page = dataset_markdown(PageContext(card=card, cards={card.id: card}, page_url=lambda o: None))
    assert "<code>Atelectasis</code> <code>1.0</code>→<code>atelectasis</code>, <code>-1.0</code>" in page
    assert "<code>&lt;Edema&gt;</code> <code>1.0</code>→<code>edema</code>" in page
