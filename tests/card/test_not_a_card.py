"""`covidct validate` on a file that is not a card says so in one line (issue 10, item 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from covidct.cli import main


@pytest.mark.parametrize("name,text", [
    ("README.md", None),  # the repository's README
    ("card.yml", "id: x\n"),
    ("mkdocs.yaml", "site_name: x\nnav:\n  - Home: index.md\n"),
])
def test_a_file_that_is_not_a_card_gets_one_line(name: str, text: str | None, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    f = REPO / name if text is None else tmp_path / name
    if text is not None:
        f.write_text(text)
    assert main(["validate", "-q", str(f)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and ":1:1: Y112 not a card" in lines[0], lines
