"""The generic builder: downloads with checksums, manual-download instructions, cache keyed by the card,
streaming, and clear CLI errors."""

from __future__ import annotations

import hashlib
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layout"))
from cardkit import CLASS_LABEL, make_card, png

from localhttp import LocalServer

datasets = pytest.importorskip("datasets")

from covidct.hf.builder import ChecksumMismatch, ManualDownloadRequired, builder_for  # noqa: E402
from covidct.hf.load import prepare  # noqa: E402

LAYOUT = {
    "parts": {"cls": {"regex": "covid|normal"}, "f": {"regex": "[^/]+"}},
    "files": {"image": {"pattern": "{cls}/{f}.png", "format": "png"}},
    "labels": {"label": {"part": "cls"}},
}


def _tree(root: Path) -> Path:
    for i, rel in enumerate(["covid/a.png", "covid/b.png", "normal/c.png"]):
        png(root / rel, value=i)
    return root


def _zip(tmp_path: Path) -> Path:
    src = _tree(tmp_path / "src")
    z = tmp_path / "data.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(src.rglob("*.png")):
            zf.write(p, p.relative_to(src).as_posix())
    return z


def _card_with_download(url: str, md5: str) -> Any:
    return make_card({**LAYOUT, "archives": ["data.zip"]}, [CLASS_LABEL],
                     downloads=[{"name": "data.zip", "url": url, "md5": md5, "archive": "zip"}])


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """A loopback HTTP server serving tmp_path/served (no network in tests; loopback allowed for it)."""
    monkeypatch.setenv("COVIDCT_ALLOW_PRIVATE_HOSTS", "1")
    (tmp_path / "served").mkdir()
    with LocalServer(tmp_path / "served") as srv:
        yield srv


def test_archive_is_downloaded_checked_and_extracted(tmp_path: Path, served: LocalServer) -> None:
    z = _zip(tmp_path)
    (served.root / "data.zip").write_bytes(z.read_bytes())
    card = _card_with_download(f"{served.base}/data.zip", hashlib.md5(z.read_bytes()).hexdigest())
    ds = prepare(builder_for(card, cache_dir=tmp_path / "cache"))
    assert len(ds["train"]) == 3
    assert sorted(ds["train"]["path"]) == ["covid/a.png", "covid/b.png", "normal/c.png"]


def test_checksum_mismatch_is_refused(tmp_path: Path, served: LocalServer) -> None:
    z = _zip(tmp_path)
    (served.root / "data.zip").write_bytes(z.read_bytes())
    card = _card_with_download(f"{served.base}/data.zip", "0" * 32)
    with pytest.raises(ChecksumMismatch, match=r"md5 is .* the card says 0{32}; the file is refused"):
        prepare(builder_for(card, cache_dir=tmp_path / "cache"))
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and "downloads" in p.parts]


def test_manual_download_gives_the_card_instructions(tmp_path: Path) -> None:
    card = make_card(LAYOUT, [CLASS_LABEL])
    with pytest.raises(ManualDownloadRequired, match="Ask the authors, then unpack into DATA_DIR"):
        prepare(builder_for(card, cache_dir=tmp_path / "cache"))


def test_editing_the_card_changes_the_cache(tmp_path: Path) -> None:
    data = _tree(tmp_path / "data")
    card = make_card(LAYOUT, [CLASS_LABEL])
    b1 = builder_for(card, data_dir=data, cache_dir=tmp_path / "cache")
    ds1 = prepare(b1)
    edited = card.model_copy(deep=True)
    edited.configs[0].labels[0].classes[0].description = "edited"
    b2 = builder_for(edited, data_dir=data, cache_dir=tmp_path / "cache")
    assert b2.cache_dir != b1.cache_dir
    assert builder_for(card, data_dir=data, cache_dir=tmp_path / "cache").cache_dir == b1.cache_dir
    assert "edited" not in ds1["train"].info.description


def test_streaming_matches_prepared(tmp_path: Path) -> None:
    data = _tree(tmp_path / "data")
    card = make_card(LAYOUT, [CLASS_LABEL])
    streamed = builder_for(card, data_dir=data, cache_dir=tmp_path / "cache").as_streaming_dataset()
    prepared = prepare(builder_for(card, data_dir=data, cache_dir=tmp_path / "cache2"))
    s = sorted((r["path"], r["label"]) for r in streamed["train"])
    p = sorted((r["path"], r["label"]) for r in prepared["train"])
    assert s == p and len(s) == 3


def test_cli_load_errors_are_messages_not_tracebacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from covidct.cli import main

    rc = main(["load", "cncb", "lesion-seg", "--data-dir", str(tmp_path), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err
    assert "layout root 'ct_lesion_seg'" in err and "is not a folder" in err  # no zip top folder in it


def test_cli_fixture_then_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from covidct.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fixture", "cncb", "--config", "lesion-seg", "--out", str(tmp_path / "fx")]) == 0
        out = capsys.readouterr().out
        assert "cncb/lesion-seg:" in out and "examples" in out
        assert main(["load", "cncb", "lesion-seg", "--data-dir", str(tmp_path / "fx"),
                     "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "DatasetDict" in out and "mask: Image" in out
