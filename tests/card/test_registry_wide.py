"""Registry-wide checks on the PR path (issue 10, item 15): validating one file, or the cards changed
since a git ref, checks ids, names and aliases against every card of the registry."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import CARDS, need_executable
from covidct.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "cards"
CNCB_NAMES = 8  # name and 7 aliases


def _copycat(folder: Path) -> Path:
    """A new card that reuses every name of cncb (a valid card otherwise)."""
    cncb = yaml.safe_load((CARDS / "cncb.yaml").read_text(encoding="utf-8"))
    text = (GOLDEN / "_base.yaml").read_text().replace("id: _base", "id: copycat")
    text = text.replace("name: Example CT set\n", "name: " + yaml.safe_dump(cncb["name"], allow_unicode=True)
                        .splitlines()[0] + "\naliases: " + yaml.safe_dump(cncb["aliases"], allow_unicode=True,
                                                                           default_flow_style=True))
    f = folder / "copycat.yaml"
    f.write_text(text, encoding="utf-8")
    return f


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    cards = tmp_path / "cards"
    cards.mkdir()
    shutil.copy(CARDS / "cncb.yaml", cards / "cncb.yaml")
    return cards


def _reused(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": C308 " in line and "already used by card 'cncb'" in line]


def test_one_new_file_is_checked_against_the_registry(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _copycat(registry)
    assert main(["--cards", str(registry), "validate", "-q", str(f)]) == 1
    assert len(_reused(capsys.readouterr().out)) == CNCB_NAMES


def test_a_file_outside_the_registry_is_checked_against_it(registry: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "mine"
    elsewhere.mkdir()
    f = _copycat(elsewhere)
    assert main(["--cards", str(registry), "validate", "-q", str(f)]) == 1
    assert len(_reused(capsys.readouterr().out)) == CNCB_NAMES


def test_the_cards_beside_a_file_are_its_registry(registry: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COVIDCT_CARDS", str(registry.parent / "empty"))
    f = _copycat(registry)
    assert main(["validate", "-q", str(f)]) == 1
    assert len(_reused(capsys.readouterr().out)) == CNCB_NAMES


def test_changed_cards_are_checked_against_the_whole_registry(registry: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    git = need_executable("git")
    repo = registry.parent
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    for args in (["init", "-q", "-b", "main"], ["add", "cards"], ["commit", "-q", "-m", "registry"]):
        subprocess.run([git, *args], cwd=repo, check=True, env=env, capture_output=True)
    _copycat(registry)  # the pull request adds one card
    monkeypatch.chdir(repo)
    assert main(["--cards", "cards", "validate", "-q", "--changed", "main"]) == 1
    out = capsys.readouterr().out
    assert len(_reused(out)) == CNCB_NAMES
    assert all(line.startswith("cards/copycat.yaml:") for line in out.splitlines())  # cncb itself is not re-checked


def test_lineage_may_point_at_any_registry_card(registry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (GOLDEN / "_base.yaml").read_text().replace("id: _base", "id: child")
    text = text.replace("sources:\n", "lineage:\n  - {relation: derived-from, card: cncb}\n  - {relation: overlaps, "
                        "card: nowhere}\nsources:\n")
    f = registry / "child.yaml"
    f.write_text(text)
    main(["--cards", str(registry), "validate", "-q", str(f)])
    out = capsys.readouterr().out
    assert "'nowhere'" in out and "'cncb'" not in out
