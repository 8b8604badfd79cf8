"""The COVIDCT_* settings, parsed in one place (covidct.settings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from covidct.settings import Settings


def test_hub_data_is_id_equals_dir_entries() -> None:
    env = {"COVIDCT_HUB_DATA": f"cncb=/d/cncb{os.pathsep} covid-ct = /d/ct {os.pathsep}"}
    assert Settings(env).hub_data == {"cncb": "/d/cncb", "covid-ct": "/d/ct"}
    assert Settings({}).hub_data == {}
    for bad in ("cncb", "=/d", "cncb=", " = "):
        with pytest.raises(ValueError, match=r"COVIDCT_HUB_DATA entry .* is not ID=DIR"):
            Settings({"COVIDCT_HUB_DATA": bad}).hub_data  # noqa: B018


def test_a_bad_setting_only_stops_what_uses_it() -> None:
    s = Settings({"COVIDCT_HUB_DATA": "nonsense", "COVIDCT_CARDS": "/some/cards"})
    assert s.cards_dir == Path("/some/cards")


def test_hub_fixtures() -> None:
    assert Settings({"COVIDCT_HUB_FIXTURES": " all "}).hub_fixtures == "all"
    assert Settings({"COVIDCT_HUB_FIXTURES": "cncb, ,lndb"}).hub_fixtures == ["cncb", "lndb"]
    assert Settings({}).hub_fixtures == []


@pytest.mark.parametrize(("raw", "on"), [("1", True), (" Yes", True), ("on", True), ("true", True),
                                          ("", False), ("0", False), ("no", False)])
def test_allow_private_hosts(raw: str, on: bool) -> None:
    assert Settings({"COVIDCT_ALLOW_PRIVATE_HOSTS": raw}).allow_private_hosts is on


def test_cards_dir_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from covidct.registry import default_cards_dir

    monkeypatch.setenv("COVIDCT_CARDS", str(tmp_path))
    assert default_cards_dir() == tmp_path
    monkeypatch.setenv("COVIDCT_CARDS", "")
    assert default_cards_dir() != tmp_path
