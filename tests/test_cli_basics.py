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
