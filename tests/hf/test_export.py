"""Script-free Hub folders: Parquet with embedded bytes + README, read by stock datasets with no custom code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _hubtools import base_card, card_with, check_hub_metadata, fixtures, front_matter, load_quiet, stock_load
from ds36_probe import digest

from covidct.cli import main
from covidct.hf.export import ExportRefused, export, read_manifest
from covidct.registry import registry

pq = pytest.importorskip("pyarrow.parquet")

LOADABLE = [(cid, cfg.name) for cid, card in sorted(registry().cards().items()) for cfg in card.loadable_configs]


@pytest.fixture(scope="module")
def cncb_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """cncb exported from its fixtures (as if they were the real files), both configs."""
    tmp = tmp_path_factory.mktemp("export")
    dirs = fixtures(base_card(), tmp / "data")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export(base_card(), dirs, tmp / "hub")
    return tmp / "hub", dirs


@pytest.mark.parametrize("config", ["lesion-seg", "classification"])
def test_stock_datasets_reads_the_export_like_covidct(
    cncb_export: tuple[Path, dict[str, Path]], config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, dirs = cncb_export
    monkeypatch.chdir(hub)  # as a user would: `load_dataset("covidct/cncb")` finds ./covidct/cncb first
    got = stock_load("covidct/cncb", config, cache_dir=str(tmp_path / "stock"))
    want = load_quiet("cncb", config, data_dir=dirs[config], cache_dir=tmp_path / "covidct")
    assert list(got) == list(want)
    assert got["train"].features == want["train"].features  # ClassLabel names, Image, ids
    assert digest(got) == digest(want)  # the same rows, value for value (pixels included)


def test_readme_front_matter_is_a_valid_hub_dataset_card(cncb_export: tuple[Path, dict[str, Path]]) -> None:
    hub, _ = cncb_export
    folder = hub / "covidct" / "cncb"
    fm = front_matter((folder / "README.md").read_text(encoding="utf-8"))
    check_hub_metadata(fm)
    assert [c["config_name"] for c in fm["configs"]] == ["lesion-seg", "classification"]
    assert fm["configs"][0]["data_files"] == [{"split": "train", "path": "data/lesion-seg/train-*"}]
    info = {i["config_name"]: i for i in fm["dataset_info"]}
    label = next(f for f in info["classification"]["features"] if f["name"] == "label")
    assert label["dtype"] == {"class_label": {"names": {"0": "NCP", "1": "CP", "2": "Normal"}}}
    manifest = read_manifest(folder)
    assert manifest and manifest["kind"] == "parquet" and not manifest["synthetic"]
    for cfg, splits in manifest["configs"].items():
        for split, n in splits.items():
            got = next(s for s in info[cfg]["splits"] if s["name"] == split)
            assert got["num_examples"] == n and got["num_bytes"] > 0
    assert info["lesion-seg"]["download_size"] == sum(
        p.stat().st_size for p in (folder / "data" / "lesion-seg").glob("*.parquet")
    )


def test_parquet_embeds_the_image_bytes(cncb_export: tuple[Path, dict[str, Path]]) -> None:
    hub, dirs = cncb_export
    folder = hub / "covidct" / "cncb"
    assert not (folder / "cncb.py").exists()  # datasets >= 4 would refuse the folder
    shard, *_ = shards = sorted((folder / "data" / "lesion-seg").glob("*.parquet"))
    assert [s.name for s in shards] == [f"train-{k:05d}-of-{len(shards):05d}.parquet" for k in range(len(shards))]
    table = pq.read_table(shard)
    first = table.column("image")[0].as_py()
    path = table.column("path")[0].as_py()
    root = base_card().config("lesion-seg").layout.root  # `path` is relative to the layout's root folder
    assert first["bytes"] == (dirs["lesion-seg"] / root / path).read_bytes()  # the original file, not a path


def test_re_export_replaces_the_folder_whole(tmp_path: Path) -> None:
    card = base_card()
    dirs = fixtures(card, tmp_path / "data", ["lesion-seg"])
    folder = tmp_path / "hub" / "covidct" / "cncb"
    folder.mkdir(parents=True)
    (folder / "cncb.py").write_text("# an old loading script\n", encoding="utf-8")
    export(card, dirs, tmp_path / "hub", configs=["lesion-seg"])
    assert sorted(p.name for p in folder.iterdir()) == [".covidct.json", "README.md", "data"]
    assert not [p for p in (tmp_path / "hub").iterdir() if p.name.startswith(".")]  # no work folders left


@pytest.mark.parametrize(("card_id", "config"), LOADABLE, ids=[f"{c}/{n}" for c, n in LOADABLE])
def test_every_loadable_card_exports_from_its_fixture(
    card_id: str, config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = registry().get(card_id)
    dirs = fixtures(card, tmp_path / "data", [config])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = export(card, dirs, tmp_path / "hub", configs=[config], synthetic=True)
    fm = front_matter((res.folder / "README.md").read_text(encoding="utf-8"))
    check_hub_metadata(fm)
    assert "synthetic-fixture" in fm["tags"]
    monkeypatch.chdir(tmp_path / "hub")
    got = stock_load(f"covidct/{card_id}", config, cache_dir=str(tmp_path / "stock"))
    assert {s: len(d) for s, d in got.items()} == {s: n for s, (n, _) in res.splits[config].items()}


def test_forbidden_redistribution_is_refused_with_the_reason(tmp_path: Path) -> None:
    card = card_with(license={"id": "other", "name": "Research only", "url": "https://example.org/terms",
                              "redistribution": "forbidden"})
    with pytest.raises(ExportRefused, match=r"Research only.*forbids redistribution"):
        export(card, tmp_path, tmp_path / "hub")
    assert not (tmp_path / "hub" / "covidct").exists()


def test_unknown_redistribution_needs_the_publishers_word(tmp_path: Path) -> None:
    card = card_with(license={"id": "unknown", "redistribution": "unknown"})
    with pytest.raises(ExportRefused, match="--allow-unknown-license"):
        export(card, tmp_path, tmp_path / "hub")
    dirs = fixtures(card, tmp_path / "data", ["lesion-seg"])
    res = export(card, dirs, tmp_path / "hub", configs=["lesion-seg"], allow_unknown_license=True)
    assert res.splits["lesion-seg"]["train"][0] > 0


def test_cli_refusal_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    text = (registry().paths["cncb"]).read_text(encoding="utf-8").replace("redistribution: allowed",
                                                                         "redistribution: forbidden")
    (cards / "cncb.yaml").write_text(text, encoding="utf-8")
    assert main(["--cards", str(cards), "export", "cncb", "--data-dir", str(tmp_path), "--out",
                 str(tmp_path / "hub")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("covidct: export refused: cncb: the license") and "Traceback" not in err


def test_cli_fixture_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "cncb", "--fixture", "--config", "lesion-seg", "--out", str(tmp_path)]) == 0
    assert "exported" in capsys.readouterr().out
    folder = tmp_path / "covidct" / "cncb"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "Synthetic fixture" in readme and front_matter(readme)["pretty_name"].endswith("(synthetic fixture)")
    assert read_manifest(folder)["synthetic"] is True
    assert json.loads((folder / ".covidct.json").read_text())["configs"]["lesion-seg"]["train"] > 0
    assert os.listdir(tmp_path) == ["covidct"]
