"""`covidct validate`, `list`, `show`, `schema` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from covidct.cli import main


def test_validate_registry_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert "0 error(s)" in capsys.readouterr().err


def test_validate_json_output_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", "tests/cards/counts-sum.yaml"]) == 1
    (issue,) = [i for i in json.loads(capsys.readouterr().out) if i["severity"] == "error"]
    assert issue["code"] == "C302" and issue["line"] == 23 and issue["severity"] == "error"


def test_list_filters_by_modality_and_task(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--modality", "CT", "--task", "image-segmentation", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all("CT" in r["modality"] and "image-segmentation" in r["tasks"] for r in rows)
    assert "cncb" in {r["id"] for r in rows}


def test_show_prints_the_card(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "covidct/cncb"]) == 0
    out = capsys.readouterr().out
    assert "covidct/cncb" in out and "lesion-seg" in out


def test_show_unknown_id_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "no-such-dataset"]) == 1
    assert "no card 'no-such-dataset'" in capsys.readouterr().err


def test_console_script_runs_as_a_subprocess() -> None:
    proc = subprocess.run([sys.executable, "-m", "covidct.cli", "schema"], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["title"] == "covidct dataset card"


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("card_id", ["cncb", "covid-ct", "covid-ct-md"])
def test_show_prints_access_downloads_layout_and_whole_caveats(card_id: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """What the README sends users to `covidct show` for: how to get the files and how they are laid out."""
    from covidct.registry import registry

    card = registry().get(card_id)
    assert main(["show", card_id]) == 0
    out = capsys.readouterr().out
    flat = _words(out)
    assert card.access.kind.value in out
    if card.access.instructions:
        assert _words(card.access.instructions) in flat  # whole, not cut
    for d in card.downloads:
        assert d.name in out and (d.url or "") in out and (d.sha256 or d.md5 or "") in out
    for cfg in card.configs:
        assert f"config {cfg.name}:" in out
        if cfg.layout is None:
            continue
        for spec in cfg.layout.files.values():
            assert spec.pattern in out
        for part in cfg.layout.parts.values():
            assert part.regex in out
        for table in cfg.layout.tables.values():
            assert table.path in out and table.column in out
        for files in (cfg.layout.splits.lists or {}).values() if cfg.layout.splits else ():
            assert all(f in out for f in files)
    assert "splits:" in out
    for c in card.caveats:
        assert _words(c.text) in flat  # never cut mid-sentence
