"""A data folder holding the card's archives as downloaded (not extracted) loads: covidct checks their
checksums and extracts them into its cache with the same checks as downloads, and says so."""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layout"))
from cardkit import CLASS_LABEL, make_card, png

datasets = pytest.importorskip("datasets")

from covidct.hf.builder import ChecksumMismatch, DataError, builder_for  # noqa: E402
from covidct.hf.load import prepare  # noqa: E402

PARTS = {"cls": {"regex": "covid|normal"}, "f": {"regex": "[^/]+"}}
RELS = ["covid/a.png", "covid/b.png", "normal/c.png"]


def _zip(path: Path, rels: list[str], tmp: Path) -> bytes:
    for i, rel in enumerate(rels):
        png(tmp / "src" / rel, value=i)
    with zipfile.ZipFile(path, "w") as zf:
        for rel in rels:
            zf.write(tmp / "src" / rel, rel)
    return path.read_bytes()


def _card(downloads: list[dict[str, Any]]) -> Any:
    layout = {"archives": [d["name"] for d in downloads], "parts": PARTS,
              "files": {"image": {"pattern": "{cls}/{f}.png", "format": "png"}}, "labels": {"label": {"part": "cls"}}}
    return make_card(layout, [CLASS_LABEL], downloads=downloads)


def _dl(name: str, data: bytes, **kw: Any) -> dict[str, Any]:
    return {"name": name, "url": f"https://example.org/{name}", "md5": hashlib.md5(data).hexdigest(),
            "archive": "zip", **kw}


def _prepare(card: Any, data_dir: Path, tmp_path: Path, **kw: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = prepare(builder_for(card, data_dir=data_dir, cache_dir=tmp_path / "cache", **kw))
    return ds, [str(w.message) for w in caught if w.category.__name__ == "DataNotice"]


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, bytes]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return data_dir, _zip(data_dir / "data.zip", RELS, tmp_path)


def test_archive_in_data_dir_is_checked_extracted_and_announced(tmp_path: Path, folder: tuple[Path, bytes]) -> None:
    data_dir, data = folder
    before = sorted(p.name for p in data_dir.iterdir())
    ds, notices = _prepare(_card([_dl("data.zip", data)]), data_dir, tmp_path)
    assert sorted(ds["train"]["path"]) == RELS
    assert len(notices) == 1 and f"{data_dir} holds data.zip unextracted: checksums checked, extracted" in notices[0]
    assert sorted(p.name for p in data_dir.iterdir()) == before  # nothing written into the user's folder
    unpacked = tmp_path / "cache" / "downloads" / "covidct" / "unpacked"
    assert sorted(p.relative_to(next(unpacked.iterdir())).as_posix() for p in unpacked.rglob("*.png")) == RELS


def test_extracted_copy_is_reused(tmp_path: Path, folder: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir, data = folder
    card = _card([_dl("data.zip", data)])
    _prepare(card, data_dir, tmp_path)
    from covidct import archives

    calls = []
    real = archives.extract
    monkeypatch.setattr(archives, "extract", lambda *a, **k: calls.append(a) or real(*a, **k))
    ds, _ = _prepare(card, data_dir, tmp_path, split_by="example")
    assert calls == [] and len(ds["train"]) + len(ds["test"]) == 3


def test_wrong_checksum_names_the_file(tmp_path: Path, folder: tuple[Path, bytes]) -> None:
    data_dir, data = folder
    card = _card([_dl("data.zip", data, md5="0" * 32)])
    with pytest.raises(ChecksumMismatch, match=f"data.zip \\({data_dir / 'data.zip'}\\): md5 is .*get it again"):
        _prepare(card, data_dir, tmp_path)


def test_extracted_folder_beside_its_archive_is_used_as_it_is(tmp_path: Path, folder: tuple[Path, bytes]) -> None:
    data_dir, data = folder
    for rel in RELS[:2]:  # the user unzipped (part of) it in place
        png(data_dir / rel)
    ds, notices = _prepare(_card([_dl("data.zip", data)]), data_dir, tmp_path)
    assert notices == [] and sorted(ds["train"]["path"]) == RELS[:2]
    assert not (tmp_path / "cache" / "downloads" / "covidct").exists()


def test_missing_archive_is_named(tmp_path: Path, folder: tuple[Path, bytes]) -> None:
    data_dir, data = folder
    other = _zip(tmp_path / "other.zip", ["normal/z.png"], tmp_path / "o")
    card = _card([_dl("data.zip", data), _dl("other.zip", other)])
    with pytest.raises(DataError, match=f"{data_dir} holds data.zip of t/default but not other.zip"):
        _prepare(card, data_dir, tmp_path)
    (data_dir / "other.zip").write_bytes(other)
    ds, notices = _prepare(card, data_dir, tmp_path)
    assert sorted(ds["train"]["path"]) == [*RELS, "normal/z.png"] and "data.zip, other.zip" in notices[0]


def test_hostile_archive_in_data_dir_gets_the_download_checks(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with zipfile.ZipFile(data_dir / "data.zip", "w") as zf:
        zf.writestr("covid/a.png", b"x")
        zf.writestr("../evil.png", b"x")
    card = _card([_dl("data.zip", (data_dir / "data.zip").read_bytes())])
    with pytest.raises(DataError, match="outside the extraction folder"):
        _prepare(card, data_dir, tmp_path)
    assert not list(tmp_path.rglob("evil.png"))
    xz = data_dir / "data.zip"
    import lzma

    xz.write_bytes(lzma.compress(bytes(1 << 20)))
    with pytest.raises(DataError, match="declares `archive: zip`, but the file is an xz-compressed file"):
        _prepare(_card([_dl("data.zip", xz.read_bytes())]), data_dir, tmp_path)


def test_archive_that_is_a_link_or_a_fifo_is_refused(tmp_path: Path, folder: tuple[Path, bytes]) -> None:
    data_dir, data = folder
    (data_dir / "data.zip").rename(tmp_path / "elsewhere.zip")
    (data_dir / "data.zip").symlink_to(tmp_path / "elsewhere.zip")
    card = _card([_dl("data.zip", data)])
    with pytest.raises(DataError, match="not a link"):
        _prepare(card, data_dir, tmp_path)
    (data_dir / "data.zip").unlink()
    os.mkfifo(data_dir / "data.zip")
    with pytest.raises(DataError, match="not a regular file"):
        _prepare(card, data_dir, tmp_path)


def test_plain_file_download_lies_in_data_dir_beside_the_archive(tmp_path: Path, folder: tuple[Path, bytes]) -> None:
    """A download used as it is (``archive: none``, here the label table) is taken from data_dir too, checked."""
    data_dir, data = folder
    table = b"file,diag\na.png,covid\nb.png,covid\nc.png,normal\n"
    (data_dir / "labels.csv").write_bytes(table)
    layout = {"archives": ["data.zip", "labels.csv"], "parts": PARTS,
              "files": {"image": {"pattern": "{cls}/{f}.png", "format": "png"}},
              "tables": {"t": {"path": "labels.csv", "format": "csv", "column": "file", "key": "{_name}"}},
              "labels": {"label": {"table": "t", "column": "diag"}}}
    card = make_card(layout, [CLASS_LABEL], downloads=[_dl("data.zip", data), _dl("labels.csv", table, archive="none")])
    ds, notices = _prepare(card, data_dir, tmp_path)
    assert sorted(ds["train"]["path"]) == RELS and "data.zip, labels.csv" in notices[0]
    bad = make_card(layout, [CLASS_LABEL], downloads=[_dl("data.zip", data),
                                                      _dl("labels.csv", table, archive="none", md5="0" * 32)])
    with pytest.raises(ChecksumMismatch, match=r"labels\.csv"):
        _prepare(bad, data_dir, tmp_path)


def test_cli_says_what_it_did(tmp_path: Path, folder: tuple[Path, bytes], capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from covidct.cli import main

    data_dir, data = folder
    card = _card([_dl("data.zip", data)])
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(card.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    assert main(["load", str(path), "--data-dir", str(data_dir), "--cache-dir", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert f"covidct: {data_dir} holds data.zip unextracted: checksums checked" in err
    assert "warning" not in err.split(str(data_dir))[0]
