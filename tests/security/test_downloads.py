"""A hostile card cannot send downloads anywhere but http(s), nor unpack files outside the extraction
folder. The archives are served by a throwaway HTTP server on 127.0.0.1 (no other network), which the
tests reach with COVIDCT_ALLOW_PRIVATE_HOSTS=1 (loopback is refused by default: test_private_hosts.py)."""

from __future__ import annotations

import copy
import hashlib
import io
import os
import tarfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _archives as A
import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import need
from covidct.card.model import Card
from covidct.card.validate import validate_file
from localhttp import LocalServer

BASE: dict[str, Any] = {
    "id": "dl",
    "name": "Download test",
    "summary": "Two classes of PNG slices in one archive.",
    "description": "Used by the download-safety tests.",
    "modality": ["CT"],
    "anatomy": ["chest"],
    "homepage": "https://example.org/data",
    "license": {"id": "CC-BY-4.0", "redistribution": "allowed", "source": ["home"]},
    "access": {"kind": "open", "url": "https://example.org/data", "source": ["home"]},
    "downloads": [{"name": "data.zip", "url": "https://example.org/data.zip", "archive": "zip",
                   "source": ["home"]}],
    "configs": [{
        "name": "default",
        "tasks": ["image-classification"],
        "dimensionality": "2D",
        "example": "image",
        "labels": [{"name": "label", "kind": "class", "granularity": "image", "source": ["radiologists"],
                    "classes": [{"name": "a", "value": 0}, {"name": "b", "value": 1}]}],
        "image": {"formats": ["png"], "intensity": "windowed-8bit"},
        "layout": {
            "archives": ["data.zip"],
            "parts": {"cls": {"regex": "a|b"}, "image": {"regex": "[0-9]+"}},
            "files": {"image": {"pattern": "{cls}/{image}.png", "format": "png"}},
            "labels": {"label": {"part": "cls"}},
        },
    }],
    "sources": [{"id": "home", "title": "Home", "url": "https://example.org/data"}],
    "last_reviewed": "2026-11-22",
}


def _png_bytes(v: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((4, 4), v, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


GOOD_MEMBERS = {f"{c}/{i}.png": _png_bytes(i) for c in "ab" for i in range(2)}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """(base URL, folder it serves): a loopback-only HTTP server for the duration of one test."""
    root = tmp_path / "served"
    root.mkdir()
    monkeypatch.setenv("COVIDCT_ALLOW_PRIVATE_HOSTS", "1")
    with LocalServer(root) as srv:
        yield srv.base, root


def _card(url: str, data: bytes, archive: str = "zip", name: str = "data.zip") -> Card:
    d = copy.deepcopy(BASE)
    d["downloads"][0].update(name=name, url=url, archive=archive, sha256=hashlib.sha256(data).hexdigest())
    d["configs"][0]["layout"]["archives"] = [name]
    return Card.model_validate(d)


def _load(card: Card, tmp_path: Path) -> Any:
    need("datasets")
    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare(builder_for(card, "default", cache_dir=tmp_path / "cache"))


def _zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
        for n, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(n)
            info.external_attr = (0o120777 << 16)  # S_IFLNK
            zf.writestr(info, target)
    return buf.getvalue()


def _tar(members: dict[str, bytes], links: list[tuple[str, str, bytes]] = (), mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for n, b in members.items():
            info = tarfile.TarInfo(n)
            info.size = len(b)
            tf.addfile(info, io.BytesIO(b))
        for n, target, kind in links:
            info = tarfile.TarInfo(n)
            info.type = kind
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _serve(root: Path, name: str, data: bytes) -> None:
    (root / name).write_bytes(data)


# ------------------------------------------------------------------------------------------ http(s) only


def test_a_good_archive_loads_over_http(server: tuple[str, Path], tmp_path: Path) -> None:
    base, root = server
    data = _zip(GOOD_MEMBERS)
    _serve(root, "data.zip", data)
    ds = _load(_card(f"{base}/data.zip", data), tmp_path)
    assert sum(len(s) for s in ds.values()) == 4


BAD_URLS = ["file:///etc/passwd", "file://localhost/etc/hosts", "ftp://127.0.0.1/data.zip",
            "data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==", "/etc/passwd/x.zip",
            "hf://datasets/x/y/data.zip", "javascript:alert(1)", "https:///nohost", "gopher://127.0.0.1:70/"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_downloads_other_than_http_are_refused_before_any_read(tmp_path: Path, url: str) -> None:
    from covidct.hf.builder import DataError

    local = tmp_path / "data.zip"  # a real archive that would load if file:// were followed
    local.write_bytes(_zip(GOOD_MEMBERS))
    target = url if not url.startswith("file:///etc") else local.as_uri()
    card = _card(target, local.read_bytes())
    with pytest.raises(DataError, match="http"):
        _load(card, tmp_path)


@pytest.mark.parametrize("url", BAD_URLS[:5])
@pytest.mark.parametrize("field", ["homepage", "license.url", "access.url", "downloads.0.url", "sources.0.url"])
def test_validator_refuses_non_http_urls(tmp_path: Path, url: str, field: str) -> None:
    d: Any = copy.deepcopy(BASE)
    node = d
    *path, last = field.split(".")
    for k in path:
        node = node[int(k)] if k.isdigit() else node[k]
    node[last] = url
    f = tmp_path / "dl.yaml"
    f.write_text(yaml.safe_dump(d), encoding="utf-8")
    codes = [i.code for i in validate_file(f).issues if i.severity.value == "error"]
    assert codes and set(codes) <= {"C309", "S205", "S204"}, codes


# ------------------------------------------------------------------------------------------ archives


def _outside(tmp_path: Path) -> list[Path]:
    """Files a slip wrote above the work folder (``tmp_path / "w1/w2/w3"``, see :func:`_work`), inside this
    test's own ``tmp_path``: other tests' folders (one of which keeps an ``evil-target``) are never looked at."""
    return [p for p in tmp_path.rglob("*evil*")]


def _work(tmp_path: Path) -> Path:
    """The folder a test loads in: three levels below ``tmp_path``, so that ``..`` slips stay inside it."""
    work = tmp_path / "w1" / "w2" / "w3"
    work.mkdir(parents=True)
    return work


ZIP_SLIPS = {
    "dotdot": {"../evil.png": b"x"},
    "deep-dotdot": {"a/../../../evil.png": b"x"},
    "absolute": {"/tmp/covidct-evil.png": b"x"},
    "backslash": {"..\\..\\evil.png": b"x"},
}


@pytest.mark.parametrize("case", sorted(ZIP_SLIPS))
def test_zip_slip_is_refused(server: tuple[str, Path], tmp_path: Path, case: str) -> None:
    from covidct.hf.builder import DataError

    base, root = server
    data = _zip({**GOOD_MEMBERS, **ZIP_SLIPS[case]})
    _serve(root, "data.zip", data)
    with pytest.raises(DataError, match="outside the extraction folder"):
        _load(_card(f"{base}/data.zip", data), _work(tmp_path))
    assert _outside(tmp_path) == [] and not Path("/tmp/covidct-evil.png").exists()


def test_zip_symlink_member_is_refused(server: tuple[str, Path], tmp_path: Path) -> None:
    from covidct.hf.builder import DataError

    base, root = server
    data = _zip(GOOD_MEMBERS, symlinks={"a/9.png": "/etc/passwd"})
    _serve(root, "data.zip", data)
    with pytest.raises(DataError, match="symbolic link"):
        _load(_card(f"{base}/data.zip", data), tmp_path)


SYM, HARD = tarfile.SYMTYPE, tarfile.LNKTYPE
TAR_CASES: dict[str, tuple[dict[str, bytes], list[tuple[str, str, bytes]], str]] = {
    "dotdot": ({"../evil.png": b"x"}, [], "outside the extraction folder"),
    "absolute": ({"/tmp/covidct-evil.png": b"x"}, [], "outside the extraction folder"),
    "symlink-out": ({}, [("a/9.png", "/etc/passwd", SYM)], "symbolic link"),
    "symlink-dir-out": ({}, [("a/up", "../../..", SYM)], "symbolic link"),
    # a hard link to a file outside ('datasets' checks hard-link targets from the member's folder,
    # tarfile resolves them from the archive root; covidct refuses links altogether)
    "hardlink-out": ({}, [("a/b/9.png", "../evil-target", HARD)], "hard link"),
    "hardlink-up": ({}, [("a/9.png", "../a/evil-target", HARD)], "hard link"),
    # a FIFO named like an image: extracted by datasets, it would block the loader forever on open()
    "fifo": ({}, [("a/9.png", "", tarfile.FIFOTYPE)], "special file"),
}


TAR_PARAMS = [(c, "w:gz") for c in sorted(TAR_CASES)] + [(c, m) for c in ("dotdot", "hardlink-out")
                                                           for m in ("w", "w:bz2", "w:xz")]


@pytest.mark.parametrize("case,mode", TAR_PARAMS)
def test_tar_members_outside_or_links_are_refused(server: tuple[str, Path], tmp_path: Path, case: str,
                                                  mode: str) -> None:
    from covidct.hf.builder import DataError

    base, root = server
    (tmp_path / "evil-target").write_bytes(_png_bytes(7))  # what the hard link would expose
    extra, links, msg = TAR_CASES[case]
    data = _tar({**GOOD_MEMBERS, **extra}, links, mode=mode)
    fmt = {"w": "tar", "w:gz": "tar.gz", "w:bz2": "tar.bz2", "w:xz": "tar.xz"}[mode]
    name = f"data.{fmt}"
    _serve(root, name, data)
    with pytest.raises(DataError, match=msg):
        _load(_card(f"{base}/{name}", data, archive=fmt, name=name), tmp_path)
    assert not Path("/tmp/covidct-evil.png").exists()
    extracted = tmp_path / "cache"
    assert not any(p.is_symlink() or (p.is_file() and os.stat(p).st_nlink > 1) for p in extracted.rglob("*"))


def test_archive_bomb_is_refused(server: tuple[str, Path], tmp_path: Path) -> None:
    """A zip whose members claim to unpack to >1 GiB at >200x is refused before extraction."""
    from covidct.hf.builder import DataError

    base, root = server
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for n, b in GOOD_MEMBERS.items():
            zf.writestr(n, b)
        with zf.open("a/99.png", "w", force_zip64=True) as fh:  # 1.1 GiB of zeros, ~1 MiB compressed
            block = bytes(1 << 20)
            for _ in range(1100):
                fh.write(block)
    data = buf.getvalue()
    _serve(root, "data.zip", data)
    with pytest.raises(DataError, match="archive bomb"):
        _load(_card(f"{base}/data.zip", data), tmp_path)
    assert not any(p.stat().st_size > 1 << 29 for p in (tmp_path / "cache").rglob("*") if p.is_file()
                   and "downloads" in p.parts and "extracted" in p.parts)


# ------------------------------------------------------------------------------------------ one code path
# The check and the extraction used to disagree (covidct checked with zipfile/tarfile, datasets extracted
# by its own guess); now covidct identifies, checks and extracts the same bytes itself.


def _no_extraction_left(tmp_path: Path) -> None:
    unpacked = tmp_path / "cache" / "downloads" / "covidct" / "unpacked"
    left = [p for p in unpacked.rglob("*")] if unpacked.exists() else []
    assert left == [], left
    assert not any(p.is_symlink() or (p.exists() and not (p.is_file() or p.is_dir()))
                   for p in (tmp_path / "cache").rglob("*"))


def test_xz_stream_declared_zip_is_refused_not_unpacked(server: tuple[str, Path], tmp_path: Path) -> None:
    """Issue 10.3: 312 KB of xz declared `archive: zip` became a 2 GiB file in the cache."""
    from covidct.hf.builder import DataError

    base, root = server
    data = A.zeros_compressed("xz", 8 << 20)
    _serve(root, "data.zip", data)
    with pytest.raises(DataError, match=r"declares `archive: zip`, but the file is an xz-compressed file"):
        _load(_card(f"{base}/data.zip", data), tmp_path)
    _no_extraction_left(tmp_path)


@pytest.mark.parametrize("declared", ["zip", "tar"])
def test_tar_with_zip_appended_is_refused(server: tuple[str, Path], tmp_path: Path, declared: str) -> None:
    """Issue 10.3: it passed the zip check, datasets extracted it as tar with its FIFO, and load hung."""
    from covidct.hf.builder import DataError

    base, root = server
    data = A.tar_with_zip_appended()
    _serve(root, "data.bin", data)
    with pytest.raises(DataError, match="reads as a zip archive and as a tar archive"):
        _load(_card(f"{base}/data.bin", data, archive=declared, name="data.bin"), tmp_path)
    _no_extraction_left(tmp_path)


def test_zip_that_is_also_a_tar_is_refused(server: tuple[str, Path], tmp_path: Path) -> None:
    from covidct.hf.builder import DataError

    base, root = server
    data = A.zip_with_tar_header()
    _serve(root, "data.zip", data)
    with pytest.raises(DataError, match="reads as a zip archive and as a tar archive"):
        _load(_card(f"{base}/data.zip", data), tmp_path)


def test_tar_gz_bomb_of_real_zeros_is_refused(server: tuple[str, Path], tmp_path: Path) -> None:
    """Headers that tell the truth (96 MiB of zeros in ~100 KB) passed the old 1 GiB-floor check."""
    from covidct.hf.builder import DataError

    base, root = server
    data = A.tar_of_zeros(4, 24 << 20, "w:gz")
    _serve(root, "data.tar.gz", data)
    with pytest.raises(DataError, match="archive bomb"):
        _load(_card(f"{base}/data.tar.gz", data, archive="tar.gz", name="data.tar.gz"), tmp_path)
    _no_extraction_left(tmp_path)


def test_tar_xz_of_thousands_of_empty_files_is_refused(server: tuple[str, Path], tmp_path: Path) -> None:
    from covidct.hf.builder import DataError

    base, root = server
    data = A.many_empty_members(5000)
    _serve(root, "data.tar.xz", data)
    with pytest.raises(DataError, match=r"archive members .*archive bomb"):
        _load(_card(f"{base}/data.tar.xz", data, archive="tar.xz", name="data.tar.xz"), tmp_path)


def test_pax_header_redos_is_refused(server: tuple[str, Path], tmp_path: Path) -> None:
    """30,000 digits in a pax header: seconds in CPython 3.11.7's tarfile (hours at 1 MB), refused in linear time."""
    from covidct.hf.builder import DataError

    base, root = server
    data = A.pax_redos(30_000)
    _serve(root, "data.tar.gz", data)
    with pytest.raises(DataError, match="malformed pax header"):
        _load(_card(f"{base}/data.tar.gz", data, archive="tar.gz", name="data.tar.gz"), tmp_path)


@pytest.mark.parametrize("fmt", ["tar", "tar.bz2", "tar.xz"])
def test_other_tar_compressions_load(server: tuple[str, Path], tmp_path: Path, fmt: str) -> None:
    base, root = server
    data = _tar(GOOD_MEMBERS, mode="w" if fmt == "tar" else f"w:{fmt.split('.')[1]}")
    _serve(root, f"data.{fmt}", data)
    ds = _load(_card(f"{base}/data.{fmt}", data, archive=fmt, name=f"data.{fmt}"), tmp_path)
    assert sum(len(s) for s in ds.values()) == 4
