"""Lookups by id, covidct/<id> and alias; the catalog DataFrame; broken cards are never dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

import covidct
from conftest import CARDS, REPO
from covidct.registry import CardError, Registry, UnknownCard


def test_load_card_by_id_org_id_and_alias() -> None:
    card = covidct.load_card("cncb")
    assert covidct.load_card("covidct/cncb") is card
    assert covidct.load_card("CNCB数据集").id == "cncb"
    assert covidct.load_card("cc-ccii").id == "cncb"  # case-insensitive alias


def test_unknown_id_suggests_near_names() -> None:
    with pytest.raises(UnknownCard, match="did you mean 'cncb'"):
        covidct.load_card("cncbb")


def test_catalog_has_one_row_per_card_with_the_promised_columns() -> None:
    df = covidct.catalog()
    assert len(df) == len([p for p in CARDS.glob("*.yaml") if not p.name.startswith("_")])
    assert df["id"].is_unique
    for col in ("id", "name", "modality", "tasks", "patients", "images", "license", "access"):
        assert col in df.columns
    row = df.set_index("id").loc["cncb"]
    assert "CT" in row["modality"] and "image-segmentation" in row["tasks"]


def test_a_broken_card_breaks_the_catalog_loudly(tmp_path: Path) -> None:
    good = (CARDS / "cncb.yaml").read_text(encoding="utf-8")
    (tmp_path / "cncb.yaml").write_text(good, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(good.replace("id: cncb", "id: broken").replace("name: CNCB", "nme: CNCB"))
    with pytest.raises(CardError) as info:
        Registry(tmp_path).catalog()
    assert any("broken.yaml" in i and "S201" in i for i in info.value.issues)


def test_duplicate_alias_across_cards_is_located(tmp_path: Path) -> None:
    good = (CARDS / "cncb.yaml").read_text(encoding="utf-8")
    (tmp_path / "cncb.yaml").write_text(good, encoding="utf-8")
    twin = good.replace("id: cncb", "id: twin").replace("name: CNCB 2019nCoVR", "name: Twin of CNCB")
    (tmp_path / "twin.yaml").write_text(twin, encoding="utf-8")
    issues = [i for r in Registry(tmp_path).results() for i in r.issues if i.code == "C308"]
    assert issues and all(i.path.endswith("twin.yaml") for i in issues)
    assert any("alias 'CC-CCII' is already used by card 'cncb'" in i.message for i in issues)


def test_load_card_from_a_file_path() -> None:
    assert covidct.load_card(str(REPO / "cards" / "cncb.yaml")).id == "cncb"
