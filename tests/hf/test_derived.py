"""Derived datasets: COVIDx rebuilt from the user's copies of its sources through its published split list.

The list's format is COVID-Net's `labels/test_COVIDx_CXR-3A.txt` (patient id, file name, class, source tag;
header-less, space-separated; RSNA images listed as `<patientId>.png`, converted from `<patientId>.dcm`).
Before `derived`, `covidct.load_dataset("covidx", ...)` answered that the card has no layout.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from covidct.card.issues import LayoutWarning
from covidct.errors import CovidctError
from covidct.fixtures import synthesize
from covidct.layout.derived import derived_records
from covidct.layout.plan import examples
from covidct.registry import registry

datasets = pytest.importorskip("datasets")

RICORD_ROW = "419639-003251 MIDRC-RICORD-1C-419639-003251-46647-0.png COVID-19 ricord\n"  # a real row of the list


def _rsna(tmp_path: Path) -> tuple[Path, list[str]]:
    rsna = registry().get("rsna-pneumonia")
    data = tmp_path / "rsna"
    synthesize(rsna, "classification", data, per_class=1)
    stems = sorted({Path(r.path).stem for r in examples(rsna, "classification", [data])})
    return data, stems


def _list(tmp_path: Path, rows: list[str], name: str = "test_COVIDx_CXR-3A.txt", train: list[str] = ()) -> Path:
    folder = tmp_path / "covidx"
    folder.mkdir()
    (folder / name).write_text("".join(rows), encoding="utf-8")
    (folder / "train_COVIDx_CXR-3A.txt").write_text("".join(train), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("config", "list_name", "classes", "ricord"), [
    ("three-class", "test_COVIDx_CXR-3A.txt", ["normal", "pneumonia"], RICORD_ROW),
    # a real row of labels/test_COVIDx9B.txt (lindawangg/COVID-Net@6599980)
    ("binary", "test_COVIDx9B.txt", ["negative", "negative"],
     "419639-003251 MIDRC-RICORD-1C-419639-003251-46647-0.png positive ricord\n"),
])
def test_covidx_is_rebuilt_from_the_sources_with_the_source_of_every_example(
        tmp_path: Path, config: str, list_name: str, classes: list[str], ricord: str) -> None:
    import covidct

    rsna_dir, stems = _rsna(tmp_path)
    chosen = stems[:2]
    rows = [ricord] + [f"{s} {s}.png {cls} rsna\n" for s, cls in zip(chosen, classes, strict=True)]
    lists = _list(tmp_path, rows, list_name)
    with pytest.warns(LayoutWarning, match=r"L512 1 rows left out, their sources have no card yet: ricord \(1\)"):
        ds = covidct.load_dataset("covidx", config, cache_dir=str(tmp_path / "cache"),
                                  data_dirs={"covidx": lists, "rsna-pneumonia": rsna_dir})
    test = ds["test"]
    assert test.num_rows == 2
    assert test["source"] == ["rsna-pneumonia", "rsna-pneumonia"]
    assert test["patient_id"] == chosen
    names = test.features["label"].names
    assert [names[i] for i in test["label"]] == classes
    assert [Path(p).stem for p in test["source_path"]] == chosen
    image = test[0]["image"]  # the DICOM read as the RSNA card reads it
    assert image.size[0] > 0


def test_a_split_whose_rows_are_all_left_out_is_empty_not_a_crash(tmp_path: Path) -> None:
    import covidct

    lists = _list(tmp_path, [RICORD_ROW])  # the one row's source has no card; the train list is empty
    with pytest.warns(LayoutWarning, match=r"L512 1 rows left out"):
        ds = covidct.load_dataset("covidx", "three-class", cache_dir=str(tmp_path / "cache"),
                                  data_dirs={"covidx": lists})
    assert ds["test"].num_rows == 0 and ds["train"].num_rows == 0
    assert ds["test"].features["label"].names == ["normal", "pneumonia", "COVID-19"]


def test_a_row_naming_a_file_the_copy_lacks_is_one_clear_error(tmp_path: Path) -> None:
    rsna_dir, stems = _rsna(tmp_path)
    lists = _list(tmp_path, [f"{stems[0]} {stems[0]}.png normal rsna\n", "x missing-id.png normal rsna\n"])
    card = registry().get("covidx")
    with pytest.raises(CovidctError, match=r"lack: 1 in rsna-pneumonia \(first: test_COVIDx_CXR-3A.txt:2 "
                                           r"missing-id.png\)"):
        derived_records(card, card.config("three-class"), {"covidx": lists, "rsna-pneumonia": rsna_dir},
                        registry().cards())


@pytest.mark.parametrize(("row", "message"), [
    ("a b c\n", r"test_COVIDx_CXR-3A.txt:1: 3 values, but the card declares 4 columns"),
    ("a a.png normal nih\n", r"source 'nih' is not among the card's sources"),
    ("a a.png COVID normal rsna\n", r"5 values"),
    ("a a.png flu rsna\n", r"'flu' is not a class of label 'label'"),
])
def test_a_bad_row_is_refused_with_its_line(tmp_path: Path, row: str, message: str) -> None:
    lists = _list(tmp_path, [row])
    card = registry().get("covidx")
    with pytest.raises(CovidctError, match=message):
        derived_records(card, card.config("three-class"), {"covidx": lists, "rsna-pneumonia": tmp_path},
                        registry().cards())


def test_the_sources_folders_are_asked_for_by_name(tmp_path: Path) -> None:
    import covidct

    lists = _list(tmp_path, ["a a.png normal rsna\n"])
    card = registry().get("covidx")
    with pytest.raises(CovidctError, match=r"needs your copy of rsna-pneumonia .*data_dirs=\{'rsna-pneumonia'"):
        derived_records(card, card.config("three-class"), {"covidx": lists}, registry().cards())
    with pytest.raises(CovidctError, match=r"built from other datasets: load it with data_dirs=\{.covidx.: the "
                                           r"folder of its split files, .rsna-pneumonia., .covid-chestxray-dataset., "
                                           r".figure1-covid-chestxray.: your copies"):
        covidct.load_dataset("covidx", "three-class", data_dir=str(lists))


def test_the_train_list_joins_each_tag_to_its_source_card(tmp_path: Path) -> None:
    # real rows of COVID-Net's labels/train_COVIDx_CXR-3A.txt (5d4f01c) for the tags without a card, and a
    # Figure 1 row naming a file of the synthesized copy (real names are COVID-00001.jpg ...)
    fig1 = registry().get("figure1-covid-chestxray")
    data = tmp_path / "fig1"
    synthesize(fig1, "default", data, per_class=1)
    name = sorted(Path(r.path).name for r in examples(fig1, "default", [data]))[0]
    train = [f"p1 {name} COVID-19 fig1\n",
             "20 COVID(1).png COVID-19 sirm\n",
             "A223587 A223587-12-31-1900-NA-CHEST_AP_VIEWONLY-26790-1.000000-AP-81991-1-1.jpg COVID-19 stonybrook\n",
             "S03044 sub-S03044_ses-E06790_run-1_bp-chest_vp-pa_dx-corrected.png COVID-19 bimcv\n"]
    lists = _list(tmp_path, [], train=train)
    card = registry().get("covidx")
    with pytest.warns(LayoutWarning, match=r"L512 3 rows left out, their sources have no card yet: bimcv \(1\), "
                                           r"sirm \(1\), stonybrook \(1\)"):
        recs = derived_records(card, card.config("three-class"), {"covidx": lists, "figure1-covid-chestxray": data},
                               registry().cards())
    assert recs["test"] == []
    assert [(r.source, Path(r.record.path).name, r.labels) for r in recs["train"]] == [
        ("figure1-covid-chestxray", name, {"label": "COVID-19"})]


def test_a_split_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("a a.png normal rsna\n")
    folder = tmp_path / "covidx"
    folder.mkdir()
    (folder / "test_COVIDx_CXR-3A.txt").symlink_to(outside)
    card = registry().get("covidx")
    with pytest.raises(CovidctError, match="outside the folder"):
        derived_records(card, card.config("three-class"), {"covidx": folder}, registry().cards())


def test_no_warning_when_every_source_has_a_card(tmp_path: Path) -> None:
    rsna_dir, stems = _rsna(tmp_path)
    lists = _list(tmp_path, [f"{stems[0]} {stems[0]}.png normal rsna\n"])
    card = registry().get("covidx")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*: L512 ", category=LayoutWarning)
        recs = derived_records(card, card.config("three-class"), {"covidx": lists, "rsna-pneumonia": rsna_dir},
                               registry().cards())
    assert [(r.source, r.labels, r.patient) for r in recs["test"]] == [("rsna-pneumonia", {"label": "normal"},
                                                                         stems[0])]


def test_a_source_matched_by_file_name_keeps_its_image_file(tmp_path: Path) -> None:
    """ieee8023's images are listed under their own names (`match: name`) and stay files (raster)."""
    from covidct.card.model import Card
    from covidct.hf.derived import load_derived

    cohen = registry().get("covid-chestxray-dataset")
    data = tmp_path / "cohen"
    synthesize(cohen, "default", data, per_class=1)
    names = sorted(Path(r.path).name for r in examples(cohen, "default", [data]))[:2]
    raw = registry().get("covidx").model_dump(mode="json", exclude_none=True)
    cfg = next(c for c in raw["configs"] if c["name"] == "three-class")
    cfg["derived"]["sources"] = [{"tag": "cohen", "card": "covid-chestxray-dataset", "config": "default"}]
    card = Card.model_validate(raw)
    lists = _list(tmp_path, [f"p{i} {n} COVID-19 cohen\n" for i, n in enumerate(names)])
    ds = load_derived(card, card.config("three-class"), {"covidx": lists, "covid-chestxray-dataset": data},
                      cards=registry().cards(), split="test", cache_dir=tmp_path / "cache")
    assert ds["source"] == ["covid-chestxray-dataset"] * 2 and ds["patient_id"] == ["p0", "p1"]
    assert [Path(p).name for p in ds["source_path"]] == names
    assert ds[0]["image"].size[0] > 0


@pytest.mark.parametrize(("content", "message"), [
    (b"a a.png normal rsna\n" * 100_001, r"has more than 100,000 rows"),
    (b"x" * 5_000_000, r":1: the line is longer than 4096 bytes"),  # no line break: not read whole
    (b"a a.png normal rsna\n" * 1_700_000, r"is 34,000,000 bytes; a split file may have at most 33,554,432"),
    (b"a \xff.png normal rsna\n", r":1: the line is not UTF-8 text"),
])
def test_a_hostile_split_file_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    folder = tmp_path / "covidx"
    folder.mkdir()
    (folder / "test_COVIDx_CXR-3A.txt").write_bytes(content)
    card = registry().get("covidx")
    with pytest.raises(CovidctError, match=message):
        derived_records(card, card.config("three-class"), {"covidx": folder}, registry().cards())


def test_covidct_load_takes_the_sources_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from covidct.cli import main

    rsna_dir, stems = _rsna(tmp_path)
    lists = _list(tmp_path, [f"{stems[0]} {stems[0]}.png normal rsna\n"])
    status = main(["load", "covidx", "three-class", "--source-dir", f"covidx={lists}",
                   "--source-dir", f"rsna-pneumonia={rsna_dir}", "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert status == 0 and "num_rows: 1" in out and "source: Value('string')" in out
    assert main(["load", "covidx", "three-class", "--source-dir", "covidx"]) == 1
    err = capsys.readouterr().err
    assert "write CARD=DIR" in err


def test_the_documents_say_how_to_rebuild_it() -> None:
    from covidct.hf.readme import render_readme
    from covidct.render.facts import layout_status
    from covidct.render.text import card_text

    card = registry().get("covidx")
    readme = render_readme(card, "card")
    assert '"rsna-pneumonia": "RSNA_PNEUMONIA_DIR"' in readme and "no loader exists" not in readme
    assert "source ricord: no card yet (its rows are left out)" in card_text(card)
    assert layout_status(card, card.config("three-class")) == "derived"
