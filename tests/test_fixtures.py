"""The fixture synthesizer's building blocks: values matching part regexes, and the CLI."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from covidct.fixtures import FixtureError, sample_regex

REGEXES = ["[^/]+", "[0-9]+", "P[0-9]{3}", "NCP|CP|Normal", "SR_[234]", "patient[0-9]+", r"[^/]+\.(?:png|jpg)",
           "(?:train|validation|test)[1-5]", "[0-9]{4}", "[a-z0-9]+", r"[0-9.]+", "(?:IM)?[0-9]{4}"]


@pytest.mark.parametrize("rx", REGEXES)
@given(i=st.integers(min_value=0, max_value=10_000))
def test_sampled_values_match(rx: str, i: int) -> None:
    assert re.fullmatch(rx, sample_regex(rx, i))


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
    assert (tmp_path / "lesion-seg" / "image").is_dir()
    assert (tmp_path / "classification" / "lesions_slices.csv").is_file()
    assert "cncb/classification" in out and "covidct load cncb classification" in out
