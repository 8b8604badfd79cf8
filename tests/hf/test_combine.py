"""covidct.combine: fixtures of cncb, covid-ct and covid-ctset pooled under one target, split by patient."""

from __future__ import annotations

import shutil
import warnings
from collections import Counter
from pathlib import Path

import pytest

from covidct.cli import main
from covidct.combined import combine, export_combined, governing_license, plan
from covidct.fixtures import synthesize
from covidct.registry import load_card
from covidct.targets import MappingError, load_target

SOURCES = {"cncb": "classification", "covid-ct": "default", "covid-ctset": "folds"}
REPO_CARDS = Path(__file__).resolve().parents[2] / "cards"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("combine")
    out = {}
    for cid, cfg in SOURCES.items():
        card = load_card(cid)
        out[cid] = root / cid
        synthesize(card, card.config(cfg), out[cid])
    return out


@pytest.fixture(scope="module")
def combined(dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return combine(list(SOURCES), "covid-pneumonia-ct", dirs, split_by="patient", test_size=0.3, seed=1,
                       cache_dir=tmp_path_factory.mktemp("cache"))


def _rows(ds: object) -> list[dict]:
    return [r for split in ds.values() for r in split.select_columns(  # type: ignore[attr-defined]
        ["source", "label", "original_label", "patient_id", "path"]).to_list()]


def test_harmonised_counts_follow_the_codes(combined: object, dirs: dict[str, Path]) -> None:
    names = combined["train"].features["label"].names  # type: ignore[index]
    assert names == ["COVID-19", "other pneumonia", "normal"]
    got = Counter((r["source"], r["original_label"], names[r["label"]] if r["label"] is not None else None)
                  for r in _rows(combined))
    # each source's own class counts in its fixture, read from the fixture's files
    expected: Counter = Counter()
    target = {"NCP": "COVID-19", "CP": "other pneumonia", "Normal": "normal", "COVID": "COVID-19",
              "NonCOVID": None, "COVID-19": "COVID-19", "normal": "normal"}
    for cid, cfg in SOURCES.items():
        card = load_card(cid)
        m = synthesize(card, card.config(cfg), dirs[cid].parent / f"again-{cid}")
        seen = set()
        for ex in m.examples:
            if ex.path in seen:
                continue
            seen.add(ex.path)
            label = ex.labels["label"]
            expected[(cid, label, target[label])] += 1
    assert got == expected
    assert got[("covid-ct", "NonCOVID", None)] > 0  # kept, with no harmonised label
    assert sum(n for (s, orig, t), n in got.items() if orig == "NCP" and t == "COVID-19") > 0


def test_no_patient_in_two_splits(combined: object) -> None:
    by_split = {s: set(d["patient_id"]) - {None} for s, d in combined.items()}  # type: ignore[attr-defined]
    assert by_split["train"] and by_split["test"]
    assert not by_split["train"] & by_split["test"]
    assert all(p.split(":", 1)[0] in SOURCES for p in by_split["train"] | by_split["test"])  # namespaced


def test_original_labels_and_sources_are_kept(combined: object) -> None:
    rows = _rows(combined)
    assert {r["source"] for r in rows} == set(SOURCES)
    assert {r["original_label"] for r in rows if r["source"] == "cncb"} == {"NCP", "CP", "Normal"}
    assert len({(r["source"], r["path"]) for r in rows}) == len(rows)  # each example once


def test_a_card_with_a_2d_and_a_3d_config_takes_the_kind_the_other_sources_share() -> None:
    """COVID-CTset's `folds` (2D slices) and `full-scans` (3D series) both map onto the CT target: beside 2D
    sources the 2D config is taken; alone it is a choice the user makes; 2D and 3D together are refused."""
    chosen = plan(["cncb", "covid-ctset"], "covid-pneumonia-ct").sources
    assert [(s.card.id, s.config.name) for s in chosen] == [("cncb", "classification"), ("covid-ctset", "folds")]
    with pytest.raises(MappingError, match=r"covid-ctset: configs \['folds', 'full-scans'\] all map onto "
                                           r"covid-pneumonia-ct; choose one"):
        plan(["covid-ctset"], "covid-pneumonia-ct")
    with pytest.raises(MappingError, match=r"the sources mix 2D and 3D examples \(cncb/classification, "
                                           r"covid-ctset/full-scans\).*choose configs of one kind"):
        plan(["cncb", "covid-ctset"], "covid-pneumonia-ct", configs={"covid-ctset": "full-scans"})


def test_a_finding_to_a_diagnosis_needs_an_explicit_predicate(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    shutil.copytree(REPO_CARDS, cards)
    t = cards / "targets" / "covid-pneumonia-cxr.yaml"
    t.write_text(t.read_text(encoding="utf-8") + "  - {card: covid19-radiography-database, class: Lung_Opacity, "
                 "target: other pneumonia}\n", encoding="utf-8")
    with pytest.raises(MappingError) as exc:
        plan(["covid19-radiography-database"], str(t), cards_dir=cards)
    msg = str(exc.value)
    assert "a finding never becomes a diagnosis silently" in msg and "explicit `predicate`" in msg
    assert "Lung_Opacity" in msg and "covid-pneumonia-cxr" in msg
    # with an explicit predicate, the curator's decision stands
    t.write_text(t.read_text(encoding="utf-8").replace("target: other pneumonia}", "target: other pneumonia, "
                 "predicate: narrower, justification: test}"), encoding="utf-8")
    got = {m.original: m.target for m in plan(["covid19-radiography-database"], str(t), cards_dir=cards)
           .sources[0].mapping}
    assert got["Lung_Opacity"] == 1
    # without a row, the finding maps onto nothing
    assert {m.original: m.target for m in plan(["covid19-radiography-database"], "covid-pneumonia-cxr")
            .sources[0].mapping}["Lung_Opacity"] is None


def test_the_cli_refuses_the_finding_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cards = tmp_path / "cards"
    shutil.copytree(REPO_CARDS, cards)
    t = cards / "targets" / "covid-pneumonia-cxr.yaml"
    t.write_text(t.read_text(encoding="utf-8").replace("    target: null\n    justification: An opacity",
                                                      "    target: COVID-19\n    justification: An opacity"),
                 encoding="utf-8")
    assert main(["--cards", str(cards), "combine", "rsna-pneumonia", "--target", "covid-pneumonia-cxr",
                 "--plan"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a finding never becomes a diagnosis silently" in err


def test_narrower_classes_map_only_where_the_target_accepts_them(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    shutil.copytree(REPO_CARDS, cards)
    t = cards / "targets" / "covid-pneumonia-ct.yaml"
    t.write_text(t.read_text(encoding="utf-8").replace("accepts: [exact, narrower]", "accepts: [exact]"),
                 encoding="utf-8")
    m = plan(["cncb", "covid-ct"], str(t), cards_dir=cards)
    cncb = {x.original: x.target for x in m.sources[0].mapping}
    assert cncb == {"NCP": None, "CP": None, "Normal": 2}  # NCP is narrower than COVID-19: not accepted now
    assert {x.original: x.target for x in m.sources[1].mapping}["COVID"] == 0


def test_targets_are_not_cards() -> None:
    from covidct.registry import registry

    assert "covid-pneumonia-ct" not in registry().cards()
    assert load_target("covid-pneumonia-cxr").modality[0].value == "chest X-ray"


def test_the_most_restrictive_license_governs_the_export(combined: object, tmp_path: Path) -> None:
    combo = plan(list(SOURCES), "covid-pneumonia-ct")
    cards = [s.card for s in combo.sources]
    a, b, c = (card.model_copy(deep=True) for card in cards)
    a.license.id, a.license.name, a.license.redistribution = "CC-BY-4.0", None, a.license.redistribution.ALLOWED
    b.license.id, b.license.name, b.license.redistribution = "CC-BY-NC-SA-4.0", None, b.license.redistribution.ALLOWED
    c.license.id, c.license.name, c.license.redistribution = "CC0-1.0", None, c.license.redistribution.ALLOWED
    assert governing_license([a, b, c]) is b
    for s, card in zip(combo.sources, (a, b, c), strict=True):
        s.card = card
    folder = export_combined(combined, combo, tmp_path)
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-nc-sa-4.0" in readme
    for card in (a, b, c):
        assert (card.id in readme and card.license.id in readme.replace("\\-", "-")) or card.id in readme
    import datasets
    back = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf-cache"))
    assert back["train"].num_rows == combined["train"].num_rows  # type: ignore[index]


def test_an_unknown_license_refuses_the_export_before_loading(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["combine", "cncb", "covid-ctset", "--target", "covid-pneumonia-ct", "--data-dir",
                   f"cncb={tmp_path / 'nowhere'}", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1 and "covid-ctset" in err and "--allow-unknown-license" in err
    assert not (tmp_path / "out").exists()


def test_fingerprint_manifests_keep_duplicate_images_in_one_split(dirs: dict[str, Path], tmp_path: Path) -> None:
    """A copy of one COVID-CT image under another name (COVID-CT has no patient ids, so each example is
    split alone): with the fingerprint manifest the two always share a split; without it, some seed parts them."""
    data = tmp_path / "covid-ct"
    shutil.copytree(dirs["covid-ct"], data)
    first = sorted(p for p in data.rglob("*") if p.suffix.lower() in (".png", ".jpg"))[0]
    copy = first.with_name("zz_copy_of_" + first.name)
    shutil.copyfile(first, copy)
    cls = "NonCOVID" if "NonCOVID" in first.parent.name else "COVID"
    with open(data / "Data-split" / cls / f"trainCT_{cls}.txt", "a") as fh:  # listed, so it is an example
        fh.write(f"\n{copy.name}\n")
    manifest = tmp_path / "covid-ct.parquet"
    assert main(["fingerprint", "covid-ct", "default", "--data-dir", str(data), "--out", str(manifest),
                 "--jobs", "1"]) == 0
    pair = {str(first.relative_to(data)), str(copy.relative_to(data))}

    def splits_of_pair(seed: int, manifests: list[Path] | None) -> set[str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = combine(["covid-ct", "cncb"], "covid-pneumonia-ct", {"covid-ct": data, "cncb": dirs["cncb"]},
                         split_by="patient", test_size=0.5, seed=seed, manifests=manifests,
                         cache_dir=tmp_path / f"cache-{seed}-{bool(manifests)}")
        return {s for s, split in ds.items() for r in split.select_columns(["source", "path"]).to_list()
                if r["source"] == "covid-ct" and r["path"] in pair}

    apart = [seed for seed in range(8) if len(splits_of_pair(seed, None)) == 2]
    assert apart, "no seed split the two copies without manifests: the test would prove nothing"
    assert all(len(splits_of_pair(seed, [manifest])) == 1 for seed in apart[:2])
