"""`covidct validate --changed REF`: only cards added or modified since the merge base with REF."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import CARDS, need_executable
from covidct.cli import main
from covidct.gitchanges import GitError, changed_cards

GOOD = (CARDS / "cncb.yaml").read_text(encoding="utf-8")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def _card(repo: Path, name: str, text: str | None = None) -> None:
    path = repo / "cards" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else f"id: {path.stem}\n", encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main: a, b, c, gone; feature (checked out): a modified, d added, gone deleted; main moved on."""
    need_executable("git")
    r = tmp_path / "repo"
    r.mkdir()
    _git(r, "init", "-q", "-b", "main")
    for n in ("a.yaml", "b.yaml", "c.yaml", "gone.yaml"):
        _card(r, n)
    _git(r, "add", ".")
    _git(r, "commit", "-q", "-m", "base")
    _git(r, "checkout", "-q", "-b", "feature")
    _card(r, "a.yaml", "id: a\nname: changed\n")
    _card(r, "d e.yaml")  # a space in the name
    _card(r, "-dash.yaml")  # a leading dash must not become an option
    _card(r, "_base.yaml")  # helpers starting with _ are not cards
    _card(r, "sub/nested.yaml")  # not directly in the cards folder
    (r / "cards" / "notes.txt").write_text("x")
    (r / "cards" / "gone.yaml").unlink()
    _git(r, "add", "-A")
    _git(r, "commit", "-q", "-m", "feature")
    _git(r, "checkout", "-q", "main")
    _card(r, "c.yaml", "id: c\nname: changed on main after the fork\n")
    _git(r, "commit", "-q", "-am", "main moves on")
    _git(r, "checkout", "-q", "feature")
    _card(r, "b.yaml", "id: b\nname: uncommitted edit\n")  # working tree change
    _card(r, "new.yaml")  # untracked
    monkeypatch.chdir(r)
    return r


def test_changed_since_merge_base(repo: Path) -> None:
    got = changed_cards("main", [Path("cards")])
    assert [p.as_posix() for p in got] == ["cards/-dash.yaml", "cards/a.yaml", "cards/b.yaml", "cards/d e.yaml",
                                           "cards/new.yaml"]


def test_file_arguments_restrict_the_set(repo: Path) -> None:
    assert changed_cards("main", [Path("cards/a.yaml"), Path("cards/c.yaml")]) == [Path("cards/a.yaml")]


def test_absolute_paths_and_other_cwd(repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    got = changed_cards("main", [repo / "cards"])
    assert {p.name for p in got} == {"-dash.yaml", "a.yaml", "b.yaml", "d e.yaml", "new.yaml"}


@pytest.mark.parametrize("ref", ["--output=/tmp/pwned", "-p", "main..feature", "a b", "x;rm -rf /", ""])
def test_refs_that_look_like_options_or_ranges_are_refused(repo: Path, ref: str) -> None:
    with pytest.raises(GitError, match="is not a git ref"):
        changed_cards(ref, [Path("cards")])
    assert not Path("/tmp/pwned").exists()


def test_unknown_ref_says_how_to_fetch(repo: Path) -> None:
    with pytest.raises(GitError, match="fetch-depth: 0"):
        changed_cards("origin/main", [Path("cards")])


def test_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_executable("git")
    (tmp_path / "cards").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(GitError, match="failed"):
        changed_cards("main", [Path("cards")])


def test_cli_validates_only_changed_cards(repo: Path, capsys: pytest.CaptureFixture) -> None:
    # a.yaml is changed and broken, c.yaml is broken too but unchanged: only a.yaml is reported
    rc = main(["--cards", "cards", "validate", "--changed", "main"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "cards/a.yaml:" in out and "cards/c.yaml" not in out


def test_cli_nothing_changed(repo: Path, capsys: pytest.CaptureFixture) -> None:
    _git(repo, "stash", "-q", "-u")
    _git(repo, "checkout", "-q", "main")
    assert main(["--cards", "cards", "validate", "--changed", "main"]) == 0
    assert "no cards changed since main" in capsys.readouterr().out


def test_cli_bad_ref_is_a_message_not_a_traceback(repo: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--cards", "cards", "validate", "--changed", "nosuchref"]) == 1
    err = capsys.readouterr().err
    assert "unknown git ref 'nosuchref'" in err and "Traceback" not in err


def test_a_valid_changed_card_passes(repo: Path, capsys: pytest.CaptureFixture) -> None:
    _git(repo, "stash", "-q", "-u")
    _git(repo, "checkout", "-q", "-b", "add-cncb", "main")
    (repo / "cards" / "cncb.yaml").write_text(GOOD, encoding="utf-8")
    assert changed_cards("main", [Path("cards")]) == [Path("cards/cncb.yaml")]
    assert main(["--cards", "cards", "validate", "--changed", "main", "-q"]) == 0
