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


#: Kinds that no card file in tests/cards/ can show, each with why and the test that shows it instead
#: (a file, and a string that test asserts). Everything else in the catalogue needs a golden case.
NOT_IN_GOLDEN: dict[str, tuple[str, str, str]] = {
    "Y103": ("a card over 1 MiB is not committed", "tests/card/test_hostile_yaml.py", '["Y103"]'),
    "Y109": ("250,000 values are not committed", "tests/security/test_limits.py", '"Y109"'),
    "Y110": ("an unreadable file (a FIFO) cannot be committed", "tests/security/test_special_files.py",
             ": Y110 cannot read"),
    "Y112": ("a file that is not `<id>.yaml` is not among the golden cases", "tests/card/test_not_a_card.py",
             "Y112 not a card"),
    "W406": ("tests/cards/ is validated as a registry, where a download without sha256 is C316",
             "tests/card/test_download_checksums.py", ": W406 download"),
    **{code: ("raised while a dataset's files are read, not by a card", "tests/layout/test_data_warnings.py", code)
       for code in ("L501", "L502", "L503", "L504", "L505", "L506", "L507")},
    "L508": ("raised while a dataset is loaded, not by a card", "tests/fingerprint/test_fingerprint_split.py",
             " L508 "),
    "L509": ("raised while a download is checked, not by a card", "tests/hf/test_download_errors.py", "L509"),
    "L510": ("raised while a prepared dataset is loaded, not by a card", "tests/hf/test_cache_signature.py", "L510"),
    "L512": ("raised while a derived dataset is rebuilt from its sources, not by a card", "tests/hf/test_derived.py",
             "L512"),
    "L511": ("raised while annotation files are matched to the data's series, not by a card",
             "tests/layout/test_annotations.py", "L511"),
}


def test_every_kind_in_the_catalogue_has_a_golden_case() -> None:
    """The list comes from the catalogue (``KINDS``): a new kind without a golden case fails here."""
    from covidct.card.issues import KINDS

    codes = {line.split(": ")[1].split()[0] for f in GOLDEN.glob("*.out") for line in f.read_text().splitlines()}
    assert set(NOT_IN_GOLDEN) <= set(KINDS), sorted(set(NOT_IN_GOLDEN) - set(KINDS))
    assert not codes & set(NOT_IN_GOLDEN), "a golden case exists now: drop the exemption"
    missing = sorted(set(KINDS) - codes - set(NOT_IN_GOLDEN))
    assert not missing, f"no golden case in tests/cards/ for {missing}"


@pytest.mark.parametrize("code", sorted(NOT_IN_GOLDEN))
def test_each_exempt_kind_is_shown_by_its_named_test(code: str) -> None:
    _, test_file, asserted = NOT_IN_GOLDEN[code]
    source = (GOLDEN.parents[1] / test_file).read_text(encoding="utf-8")
    assert asserted in source, f"{test_file} no longer asserts {asserted!r} ({code})"
