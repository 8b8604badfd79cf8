"""Loading scripts: the card travels as data, the code is one template, and the script loads under 5.x too.

(The datasets 3.6 run, in its own virtual environment, is tests/hf/test_datasets36.py.)
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from _hubtools import HOSTILE, base_card, fixtures, hostile_card, load_quiet
from ds36_probe import digest

from covidct.cli import main
from covidct.hf.scripts import CARD_VAR, ScriptError, card_from_script, script_source, write_script_folder
from covidct.registry import registry

LOADABLE = sorted(cid for cid, c in registry().cards().items() if any(cfg.layout for cfg in c.configs))


def _shape(src: str) -> str:
    """The script's AST with every constant and the class name blanked: the code, without the data."""
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
            node.value = "…"
        if isinstance(node, ast.ClassDef):
            node.name = "…"
    return ast.dump(tree)


TEMPLATE_SHAPE = _shape(script_source(base_card()))


@pytest.mark.parametrize("card_id", LOADABLE)
def test_script_embeds_the_card_as_data(card_id: str, tmp_path: Path) -> None:
    card = registry().get(card_id)
    src = script_source(card)
    assert _shape(src) == TEMPLATE_SHAPE  # the same code for every card
    write_script_folder(card, tmp_path / card.id)
    assert card_from_script(tmp_path / card.id) == card  # read back without executing
    assert json.loads((tmp_path / card.id / "card.json").read_text(encoding="utf-8")) == json.loads(
        ast.literal_eval(next(line.split(" = ", 1)[1] for line in src.splitlines() if line.startswith(CARD_VAR)))
    )


def test_hostile_card_cannot_change_the_code(tmp_path: Path) -> None:
    card = hostile_card()
    src = script_source(card)
    assert _shape(src) == TEMPLATE_SHAPE
    data_line = next(line for line in src.splitlines() if line.startswith(f"{CARD_VAR} = "))
    rest = src.replace(data_line, "")
    assert "Evil" not in rest and "alert(1)" not in rest  # card text appears only inside the literal
    assert HOSTILE in json.loads(ast.literal_eval(data_line.split(" = ", 1)[1]))["description"]
    write_script_folder(card, tmp_path / card.id)
    assert card_from_script(tmp_path / card.id / f"{card.id}.py") == card


def _fixture_rows(tmp_path: Path, config: str) -> tuple[Path, Any]:
    card = base_card()
    data = fixtures(card, tmp_path / "data", [config])[config]
    want = load_quiet(card.id, config, data_dir=data, cache_dir=tmp_path / "c0")
    return data, want


def test_script_class_builds_under_datasets_5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """datasets 5.x refuses scripts in load_dataset, but the builder class works when instantiated."""
    import datasets

    data, want = _fixture_rows(tmp_path, "classification")
    folder = tmp_path / "hub" / "covidct" / "cncb"
    write_script_folder(base_card(), folder)
    spec = importlib.util.spec_from_file_location("cncb_script", folder / "cncb.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "cncb_script", module)  # datasets re-imports the builder's module
    spec.loader.exec_module(module)  # our own generated file, in a temporary folder
    assert [c.name for c in module.CovidctCncb.BUILDER_CONFIGS] == ["lesion-seg", "classification"]
    builder = module.CovidctCncb(config_name="classification", data_dir=str(data), cache_dir=str(tmp_path / "c1"))
    datasets.disable_progress_bars()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        builder.download_and_prepare()
    got = builder.as_dataset()
    assert got["train"].features == want["train"].features
    assert digest(got) == digest(want)


def test_covidct_load_dataset_reads_a_script_folder(tmp_path: Path) -> None:
    data, want = _fixture_rows(tmp_path, "lesion-seg")
    write_script_folder(base_card(), tmp_path / "hub" / "covidct" / "cncb")
    got = load_quiet(str(tmp_path / "hub" / "covidct" / "cncb"), "lesion-seg", data_dir=data,
                     cache_dir=tmp_path / "c1")
    assert digest(got) == digest(want)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", "no embedded card"),
        (f"{CARD_VAR} = 'not json'\n", "not JSON"),
        (f"{CARD_VAR} = '{{\"id\": \"x\"}}'\n", "not valid"),
        ("def (:\n", "not valid Python"),
    ],
)
def test_card_from_script_refuses_what_covidct_did_not_write(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "x.py").write_text(text, encoding="utf-8")
    with pytest.raises(ScriptError, match=message):
        card_from_script(tmp_path / "x")


def test_cli_writes_every_script_and_keeps_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hub"
    exported = out / "covidct" / "cncb"
    exported.mkdir(parents=True)
    (exported / ".covidct.json").write_text(json.dumps({"kind": "parquet", "card": "cncb"}), encoding="utf-8")
    assert main(["scripts", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "kept" in text and not (exported / "cncb.py").exists()
    for cid in LOADABLE:
        if cid != "cncb":
            assert (out / "covidct" / cid / f"{cid}.py").is_file()
            assert (out / "covidct" / cid / "README.md").is_file()
    assert main(["scripts", "--out", str(out), "--force", "cncb"]) == 0
    assert (exported / "cncb.py").is_file()


def test_cli_names_a_card_without_layout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    without = sorted(cid for cid, c in registry().cards().items() if not any(cfg.layout for cfg in c.configs))
    if not without:
        pytest.skip("every card has a layout")
    assert main(["scripts", "--out", str(tmp_path), without[0]]) == 1
    assert "no config with a layout" in capsys.readouterr().err
