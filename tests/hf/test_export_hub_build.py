"""The `hub` and `croissant` steps of `covidct build`: a Hub folder for every card, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _hubtools import base_card, card_with, fixtures, front_matter

from covidct.build import STEPS
from covidct.cli import main
from covidct.hf.export import read_manifest
from covidct.hf.hub_build import build_hub
from covidct.registry import registry


def test_build_writes_a_folder_for_every_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("COVIDCT_HUB_DATA", raising=False)
    monkeypatch.delenv("COVIDCT_HUB_FIXTURES", raising=False)
    skip = [name for name, _ in STEPS if name not in ("hub", "croissant")]
    argv = ["build", "--out", str(tmp_path)] + [a for s in skip for a in ("--skip", s)]
    assert main(argv) == 0
    cards = registry().cards()
    for cid, card in cards.items():
        folder = tmp_path / "hub" / "covidct" / cid
        man = read_manifest(folder)
        assert man is not None and man["card"] == cid
        loadable = any(c.layout for c in card.configs)
        assert man["kind"] == ("scripts" if loadable else "card")
        assert (folder / f"{cid}.py").is_file() is loadable
        assert front_matter((folder / "README.md").read_text(encoding="utf-8"))["pretty_name"] == card.name
        doc = json.loads((tmp_path / "croissant" / f"{cid}.json").read_text(encoding="utf-8"))
        assert doc["name"] == card.name


def test_local_data_becomes_parquet_and_fixtures_go_elsewhere(tmp_path: Path) -> None:
    card = base_card()
    cards = {"cncb": card}
    data = fixtures(card, tmp_path / "data", ["lesion-seg"])["lesion-seg"]
    (tmp_path / "out" / "hub" / "covidct" / "gone").mkdir(parents=True)  # a card deleted since the last build
    (tmp_path / "out" / "hub" / "covidct" / "gone" / ".covidct.json").write_text("{}", encoding="utf-8")
    (tmp_path / "out" / "hub" / "covidct" / "mine").mkdir()  # not written by covidct: kept
    summary = build_hub(tmp_path / "out", cards, data_dirs={"cncb": str(data)}, fixtures=["cncb"])
    assert "1 Parquet export" in summary and "removed 1 stale" in summary
    assert "cncb/classification not exported" in summary  # only lesion-seg's files are in the folder
    folder = tmp_path / "out" / "hub" / "covidct" / "cncb"
    assert read_manifest(folder)["kind"] == "parquet" and not (folder / "cncb.py").exists()
    assert not (tmp_path / "out" / "hub" / "covidct" / "gone").exists()
    assert (tmp_path / "out" / "hub" / "covidct" / "mine").is_dir()
    fx = tmp_path / "out" / "hub-fixtures" / "covidct" / "cncb"
    assert read_manifest(fx)["synthetic"] is True  # never in hub/, never published


def test_refused_export_falls_back_to_the_script(tmp_path: Path) -> None:
    card = card_with(license={"id": "other", "name": "Research only", "url": "https://example.org/t",
                              "redistribution": "forbidden"})
    summary = build_hub(tmp_path, {"cncb": card}, data_dirs={"cncb": str(tmp_path)})
    assert "forbids redistribution" in summary
    assert (tmp_path / "hub" / "covidct" / "cncb" / "cncb.py").is_file()


def test_a_kept_export_counts_as_a_parquet_folder(tmp_path: Path) -> None:
    """An earlier `covidct export` in the build's hub folder is kept, and the report says so."""
    card = base_card()
    data = fixtures(card, tmp_path / "data", ["lesion-seg"])["lesion-seg"]
    build_hub(tmp_path / "out", {"cncb": card}, data_dirs={"cncb": str(data)})  # like `covidct export`
    folder = tmp_path / "out" / "hub" / "covidct" / "cncb"
    assert read_manifest(folder)["kind"] == "parquet"
    summary = build_hub(tmp_path / "out", {"cncb": card})  # a later build without the data
    assert read_manifest(folder)["kind"] == "parquet" and not (folder / "cncb.py").exists()
    assert "0 loading script(s)" in summary and "1 Parquet export(s)" in summary, summary
    assert "kept from earlier exports: cncb)" in summary
    changed = card.model_copy(update={"summary": "A changed summary."})
    summary = build_hub(tmp_path / "out", {"cncb": changed})
    assert "1 Parquet export(s)" in summary and "cncb (from an older card: export again)" in summary
