"""A scaffolded card can be tried with `covidct load` before its TODOs are filled in: the fields the
loader does not read are relaxed in memory with a notice; the fields it reads must be right first."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

pytest.importorskip("datasets")

from covidct.card.draft import load_draft
from covidct.cli import main
from covidct.fixtures import synthesize
from covidct.registry import registry


@pytest.fixture
def scaffolded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A data folder (the CNCB classification fixture) and the card `covidct new --from-folder` drafts for it."""
    data = tmp_path / "data"
    synthesize(registry().get("cncb"), "classification", data)
    card = tmp_path / "my-set.yaml"
    assert main(["new", "my-set", "--from-folder", str(data), "--out", str(card)]) == 0
    capsys.readouterr()
    assert "TODO" in card.read_text()
    return card, data


def _load(card: Path, data: Path, tmp_path: Path) -> int:
    return main(["load", str(card), "--data-dir", str(data), "--cache-dir", str(tmp_path / "cache")])


def test_a_scaffold_loads_before_its_todos_are_filled(scaffolded: tuple[Path, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    card, data = scaffolded
    assert main(["validate", str(card)]) == 1  # still not a valid card
    capsys.readouterr()
    assert _load(card, data, tmp_path) == 0
    out, err = capsys.readouterr()
    assert "num_rows: 6" in out
    assert re.search(r"note: .*my-set\.yaml is not yet a valid card \(\d+ problems, e\.g\. line \d+: C313 TODO left",
                     err), err
    assert "covidct validate" in err and "Traceback" not in err
    assert card.read_text().count("TODO") > 10  # the file is not changed


def test_the_python_api_gives_the_draft_and_its_problems(scaffolded: tuple[Path, Path], tmp_path: Path) -> None:
    import covidct

    card, data = scaffolded
    draft = load_draft(card)
    assert draft.card is not None and not draft.valid and not draft.blockers
    assert any(p.code == "C313" for p in draft.problems)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = covidct.load_dataset(draft.card, data_dir=data, cache_dir=tmp_path / "cache")
    assert ds["train"].num_rows == 6
    assert sorted(set(ds["train"].features["label"].names)) == ["CP", "NCP", "Normal"]


def _edit(card: Path, old: str, new: str) -> None:
    text = card.read_text()
    assert old in text, old
    card.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(("old", "new", "where"), [
    ("kind: class", "kind: TODO", "configs.0.labels.0.kind"),
    ("pattern: '{label}/{patient}/{scan}/{slice}.{ext}'", "pattern: 'TODO/{label}/{patient}/{scan}/{slice}.{ext}'",
     "configs.0.layout.files.image.pattern"),
    ("          - name: CP\n", "          - name: TODO\n", "configs.0.labels.0.classes.0.name"),
    ("example: slice", "example: TODO", "configs.0.example"),
])
def test_todos_in_what_the_loader_reads_must_be_filled_first(scaffolded: tuple[Path, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str], old: str,
                                                             new: str, where: str) -> None:
    card, data = scaffolded
    _edit(card, old, new)
    assert _load(card, data, tmp_path) == 1
    err = capsys.readouterr().err
    assert "cannot be tried yet: the loader reads these fields, fix them first" in err, err
    blockers = [ln for ln in err.splitlines() if ln.startswith("  ")]
    assert blockers and all(f"`{where}`" in ln for ln in blockers), err
    assert "Traceback" not in err


def test_a_draft_gets_the_same_safety_checks(scaffolded: tuple[Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The layout of a draft is checked as strictly as a card's: an atomic group (C314) is refused."""
    card, data = scaffolded
    _edit(card, "regex: '[0-9]+'", "regex: '(?>[0-9]+)+x'")
    assert _load(card, data, tmp_path) == 1
    err = capsys.readouterr().err
    assert "cannot be tried yet" in err and "C314" in err, err


def test_a_placeholder_label_the_layout_does_not_use_is_not_in_the_way(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`covidct new` writes a label of kind TODO when it cannot guess one; the layout gives it no values,
    so the loader does not read it."""
    data = tmp_path / "data"
    m = synthesize(registry().get("covid-ctset"), "folds", data)
    card = tmp_path / "flat.yaml"
    assert main(["new", "flat", "--from-folder", str(data), "--out", str(card)]) == 0
    assert "kind: TODO" in card.read_text()
    capsys.readouterr()
    assert _load(card, data, tmp_path) == 0
    assert f"num_rows: {m.count()}" in capsys.readouterr().out


def test_a_valid_card_file_loads_without_a_notice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from conftest import CARDS

    card = tmp_path / "cncb.yaml"
    shutil.copyfile(CARDS / "cncb.yaml", card)
    data = tmp_path / "data"
    synthesize(registry().get("cncb"), "classification", data)
    capsys.readouterr()
    assert main(["load", str(card), "classification", "--data-dir", str(data),
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    out, err = capsys.readouterr()
    assert "num_rows: 6" in out and "note:" not in err


def test_a_file_that_is_not_a_card_is_refused_with_its_problem(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "broken.yaml"
    card.write_text("id: [unclosed\n")
    assert main(["load", str(card), "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "cannot be tried yet" in err and "Y101" in err and "Traceback" not in err
