"""A registry card pins every download URL with a sha256 (issue 10, item 10): an error in the
registry, a warning for a user's own card elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import CARDS
from covidct.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "cards"


def _write(folder: Path, sha256: str | None = None) -> Path:
    data = yaml.safe_load((GOLDEN / "_base.yaml").read_text())
    data["id"] = "dl"
    data["downloads"] = [{"name": "data.zip", "url": "https://example.org/data.zip", "archive": "zip",
                          "source": ["home"], **({"sha256": sha256} if sha256 else {})}]
    data["configs"][0]["layout"]["archives"] = ["data.zip"]
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / "dl.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    return f


def test_in_the_registry_a_url_without_sha256_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "cards")
    assert main(["--cards", str(tmp_path / "cards"), "validate", "-q", str(f)]) == 1
    out = capsys.readouterr().out
    assert "dl.yaml:" in out and ": C316 download 'data.zip' has a URL but no sha256" in out


def test_elsewhere_it_is_a_warning_that_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "mine")
    assert main(["--cards", str(tmp_path / "cards"), "validate", "-q", str(f)]) == 0
    out = capsys.readouterr().out
    assert ": W406 download 'data.zip' has a URL but no sha256: its bytes are not verified" in out
    assert main(["--cards", str(tmp_path / "cards"), "validate", "-q", "--strict", str(f)]) == 1


def test_with_a_sha256_nothing_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "cards", sha256="0" * 64)
    main(["--cards", str(tmp_path / "cards"), "validate", "-q", str(f)])
    out = capsys.readouterr().out
    assert "W406" not in out and "C316" not in out, out


def test_every_registry_download_url_has_a_sha256() -> None:
    for p in sorted(CARDS.glob("*.yaml")):
        for d in yaml.safe_load(p.read_text(encoding="utf-8")).get("downloads", []):
            assert d.get("url") is None or d.get("sha256"), (p.name, d["name"])
