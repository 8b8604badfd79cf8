"""Golden files: each broken card in tests/cards/ sits beside the exact output it must produce.

Regenerate after an intended change with: UPDATE_GOLDEN=1 pytest tests/card/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from covidct.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "cards"
CASES = sorted(p for p in GOLDEN.glob("*.yaml") if not p.name.startswith("_"))


@pytest.mark.parametrize("card", CASES, ids=[p.stem for p in CASES])
def test_broken_card_gives_its_located_messages(
    card: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(GOLDEN.parents[1])  # paths in messages are relative to the repository
    status = main(["--cards", str(GOLDEN), "validate", "--quiet", str(card.relative_to(GOLDEN.parents[1]))])
    out = capsys.readouterr().out
    expected_file = card.with_suffix(".out")
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(out, encoding="utf-8")
    assert out == expected_file.read_text(encoding="utf-8")
    assert status == 1


def test_every_error_kind_of_the_issue_has_a_golden_case() -> None:
    codes = {line.split(": ")[1].split()[0] for f in GOLDEN.glob("*.out") for line in f.read_text().splitlines()}
    # YAML syntax, duplicate key, unknown field, missing field, wrong type, vocabulary, id/file name,
    # sums, duplicate values, unknown class, lineage, unsafe pattern, undeclared part, URL, source, TODO, regex;
    # numbers too long to build and out of range, names reused, license ids, registry downloads without sha256,
    # concept codes malformed or shared
    assert {"Y101", "Y107", "S201", "S202", "S203", "S204", "C301", "C302", "C303", "C304", "C305", "C306",
            "C307", "C309", "C310", "C313", "C314", "Y111", "S205", "C308", "C315", "C316", "C317", "C318",
            "C319", "C320"} <= codes
