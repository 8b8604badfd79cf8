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


def test_download_numbers() -> None:
    assert (Settings({}).download_timeout, Settings({}).download_retries) == (30.0, 2)
    s = Settings({"COVIDCT_DOWNLOAD_TIMEOUT": " 2.5 ", "COVIDCT_DOWNLOAD_RETRIES": "0"})
    assert (s.download_timeout, s.download_retries) == (2.5, 0)
    for name, raw, what in (("COVIDCT_DOWNLOAD_TIMEOUT", "0", "timeout in seconds"),
                            ("COVIDCT_DOWNLOAD_TIMEOUT", "soon", "timeout in seconds"),
                            ("COVIDCT_DOWNLOAD_RETRIES", "-1", "count"), ("COVIDCT_DOWNLOAD_RETRIES", "1.5", "count")):
        with pytest.raises(ValueError, match=rf"^the setting {name}='{raw}' is not a valid {what}$"):
            getattr(Settings({name: raw}), name.removeprefix("COVIDCT_").lower())


def test_max_unpacked_bytes() -> None:
    assert Settings({}).max_unpacked_bytes is None
    assert Settings({"COVIDCT_MAX_UNPACKED_BYTES": "1_000"}).max_unpacked_bytes == 1000
    for raw in ("0", "-5", "lots"):
        with pytest.raises(ValueError, match=rf"^COVIDCT_MAX_UNPACKED_BYTES='{raw}' is not a positive number of bytes"):
            Settings({"COVIDCT_MAX_UNPACKED_BYTES": raw}).max_unpacked_bytes  # noqa: B018


def test_a_bad_download_setting_is_a_download_error_naming_the_url(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    from covidct.download import DownloadError, fetch

    monkeypatch.setenv("COVIDCT_DOWNLOAD_RETRIES", "many")
    with pytest.raises(DownloadError, match=r"COVIDCT_DOWNLOAD_RETRIES='many' is not a valid count") as exc:
        fetch("http://127.0.0.1:9/x", tmp_path / "x")
    assert "http://127.0.0.1:9/x" in str(exc.value)


@pytest.mark.parametrize("value", ["nonsense", "no-such-card=/tmp"])
def test_a_bad_hub_data_value_is_one_message_not_a_traceback(
    value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from covidct.cli import main

    cards = tmp_path / "cards"
    cards.mkdir()
    src = Path(__file__).parent.parent / "cards" / "covid-ct-md.yaml"
    (cards / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("COVIDCT_HUB_DATA", value)
    argv = ["--cards", str(cards), "build", "--out", str(tmp_path / "out"), "--skip", "site", "--skip", "croissant"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("covidct: ") and "COVIDCT_HUB_DATA" in err, err


def test_cache_dir_from_covidct_cache_dir_then_xdg_then_home() -> None:
    assert Settings({"COVIDCT_CACHE_DIR": "/c/covidct"}).cache_dir == Path("/c/covidct")
    assert Settings({"XDG_CACHE_HOME": "/xdg"}).cache_dir == Path("/xdg/covidct")
    assert Settings({}).cache_dir == Path.home() / ".cache" / "covidct"
