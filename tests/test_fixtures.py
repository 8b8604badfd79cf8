"""The fixture synthesizer's building blocks: values matching part regexes, and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from covidct import fixtures
from covidct.fixtures import FixtureError, sample_regex

REGEXES = ["[^/]+", "[0-9]+", "P[0-9]{3}", "NCP|CP|Normal", "SR_[234]", "patient[0-9]+", r"[^/]+\.(?:png|jpg)",
           "(?:train|validation|test)[1-5]", "[0-9]{4}", "[a-z0-9]+", r"[0-9.]+", "(?:IM)?[0-9]{4}"]


@pytest.mark.parametrize("rx", REGEXES)
@given(i=st.integers(min_value=0, max_value=10_000))
def test_the_generator_matches_at_the_first_attempt(rx: str, i: int) -> None:
    """The generator itself, not sample_regex's check-and-retry (which makes any returned value match):
    for the regexes cards use, the first value is right, so ``i`` picks distinct values, not retries."""
    value = fixtures._gen(list(fixtures._sre_parse.parse(rx)), i, [fixtures.MAX_VALUE_CHARS])
    assert re.fullmatch(rx, value)


def test_a_value_that_does_not_match_is_never_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check in sample_regex holds when the generator is wrong (here: always a slash)."""
    monkeypatch.setattr(fixtures, "_gen", lambda *_: "a/b")
    with pytest.raises(FixtureError, match="cannot synthesize"):
        sample_regex("[a-z]+", 0)


@pytest.mark.parametrize("rx", ["[^/]+", "[0-9]+", "P[0-9]{3}", "patient[0-9]+"])
def test_sampled_values_are_distinct(rx: str) -> None:
    values = [sample_regex(rx, i) for i in range(50)]
    assert len(set(values)) == 50


def test_impossible_regex_is_a_clear_error() -> None:
    with pytest.raises(FixtureError, match="cannot synthesize"):
        sample_regex(r"a[^\x00-\U0010ffff]b", 0)  # a class that matches nothing


def test_cli_fixture_every_config(tmp_path, capsys) -> None:
    from covidct.cli import main

    assert main(["fixture", "cncb", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "lesion-seg" / "ct_lesion_seg" / "image").is_dir()  # the layout's root: the zip's top folder
    assert (tmp_path / "classification" / "lesions_slices.csv").is_file()
    assert "cncb/classification" in out and "covidct load cncb classification" in out


_BLOCKED_RUN = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # import fails as if the package were not installed
from covidct.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(("module", "card", "config"), [
    ("PIL", "cncb", "classification"),
    ("numpy", "cncb", "classification"),
    ("pydicom", "covid-ct-md", "slice"),
    ("nibabel", "structseg2019", "lung-gtv"),
    ("SimpleITK", "lola11", None),
    ("tifffile", "covid-ctset", None),
    ("openpyxl", "xlsx-card", None),
])
def test_a_missing_library_names_the_extra(tmp_path, module, card, config) -> None:
    """Without Pillow (or any library the fixture writes with), one line says which extra to install;
    nothing is written."""
    import subprocess
    import sys

    import yaml

    if card == "xlsx-card":
        sys.path.insert(0, str(Path(__file__).parent / "security"))
        from test_paths import BASE

        data = {**BASE, "id": "xlsx-card"}
        data["configs"] = [{**BASE["configs"][0], "layout": {
            **BASE["configs"][0]["layout"],
            "tables": {"meta": {"path": "meta.xlsx", "format": "xlsx", "column": "name", "key": "{_name}"}},
            "fields": {"note": {"table": "meta", "column": "note"}}}}]
        card = str(tmp_path / "xlsx-card.yaml")
        Path(card).write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "out"
    args = ["fixture", card, "--out", str(out), *(["--config", config] if config else [])]
    proc = subprocess.run([sys.executable, "-c", _BLOCKED_RUN, module, *args], capture_output=True, text=True,
                          timeout=120)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 3, text
    assert "Traceback" not in text
    assert f"{module!r}, which is not installed; install it with: pip install 'covidct[readers]'" in text
    assert not out.exists()
